# Prefix sharing (paper Section 4.3, Appendix B): stem and the first k cells shared, the rest
# and the classifier one copy per child; at two training lengths, evaluated every
# `eval_every` epochs for GT-Tau against epochs (prefix_curve: a table and a figure).


PRODUCTS.update(
    {
        name: lambda: {
            f"{epochs}/{k}": instances(paths)
            for (epochs, k), paths in STUDY.prefix_instances().items()
        }
        for name in ("table3b", "table4", "prefix_curve")
    }
)
