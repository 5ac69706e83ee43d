"""From records to numbers: metrics, statistics, tables, findings, figures. No torch."""
