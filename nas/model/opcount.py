"""Operator calls of a piece of work: what a GPU would launch as kernels.

On a GPU, eager PyTorch pays a fixed host-side cost for every kernel it launches; for the
paper's small network that cost, not arithmetic, bounds evaluation. The CPU cannot time a
GPU, but it can count the calls: torch.profiler records every aten operator, and the
operators that do work without calling another operator (the leaves of its call tree) are
the ones that launch a kernel on a GPU. Operators that only make a new view of the same
memory or allocate (`view`, `as_strided`, `empty`, ...) launch nothing: they are not counted,
and an operator whose callees are all of that kind is a leaf. The profiler sees the calling
thread only: count work that runs in it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from torch.profiler import ProfilerActivity, profile

# aten operators that only describe memory (a view, an empty allocation): no kernel
NO_KERNEL = frozenset(
    f"aten::{name}"
    for name in (
        "view",
        "_unsafe_view",
        "reshape",
        "_reshape_alias",
        "as_strided",
        "empty",
        "empty_like",
        "empty_strided",
        "expand",
        "flatten",
        "unflatten",
        "select",
        "slice",
        "narrow",
        "split",
        "split_with_sizes",
        "chunk",
        "unbind",
        "transpose",
        "permute",
        "t",
        "detach",
        "alias",
        "unsqueeze",
        "squeeze",
        "resolve_conj",
        "resolve_neg",
        "lift_fresh",
        "contiguous",
        "to",
        "resize_",
        "as_strided_",
        "result_type",
        "is_nonzero",
        "item",
        "_local_scalar_dense",
    )
)


def operator_calls(fn: Callable[[], object]) -> Counter:
    """{operator name: calls} of the kernel-launching operators `fn()` runs (see above)."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    calls: Counter = Counter()
    for event in prof.events():
        if _launches(event) and not any(_launches_below(c) for c in event.cpu_children):
            calls[event.name] += 1
    return calls


def _launches(event) -> bool:
    return event.name.startswith("aten::") and event.name not in NO_KERNEL


def _launches_below(event) -> bool:
    """Whether `event` or an operator it calls launches a kernel."""
    return _launches(event) or any(_launches_below(c) for c in event.cpu_children)
