"""A study: its config and schema, the plan of jobs and their cost, the catalog of products. No
torch."""
