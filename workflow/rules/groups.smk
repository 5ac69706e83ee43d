# Group sharing (paper Section 4.2): each group of a partition is its own super-net; an
# instance is all groups of one partition (packed into jobs by `groups_per_job`).


PRODUCTS.update(
    {
        "table3a": lambda: {
            f"{grouping}/{m}": [records(inst) for inst in insts]
            for (grouping, m), insts in STUDY.groups().items()
        },
        "figure6": lambda: {
            "group": [
                records(
                    STUDY.group_instance("random", int(config["figures"]["group_m"]), 0)
                )
            ],
            "share": [records(STUDY.group_instance("random", 1, 0))],
        },
    }
)
