"""Weight-sharing NAS study: super-net, trainer, evaluator and metrics.

Reproduces "Deeper Insights into Weight Sharing in Neural Architecture Search"
(Zhang et al., 2020). Every table and figure is a function of accuracy records:
"accuracy of child c with the weights it has at evaluation point p".
"""

__version__ = "0.1.0"
