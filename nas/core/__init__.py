"""What a run is: search space, run config, datasets' names, sharing strategies, records. No
torch."""
