"""The super-net's structure (paper Appendix A) and what each sharing policy may touch."""

import torch

from nas.model.supernet import build_supernet
from nas.run.train import make_optimizer, train_step
from tests.conftest import tiny_config


def _params(model):
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def _changed(before, model):
    return {n for n, p in model.named_parameters() if not torch.equal(before[n], p)}


def _batch(cfg, n=16, size=8):
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, 3, size, size, generator=g), torch.randint(0, 10, (n,), generator=g)


def test_parameter_shapes_match_appendix_a():
    from nas.core.config import RunConfig

    model = build_supernet(RunConfig(), n_classes=10)
    shapes = {n: tuple(p.shape) for n, p in model.named_parameters()}
    assert shapes["stem.0.weight"] == (48, 3, 3, 3)
    assert shapes["stem.2.weight"] == (48, 48, 3, 3)
    assert shapes["stem.1.weight"] == (48,)  # stem BN is affine
    assert shapes["shared_cells.0.preprocess.1.weight"] == (16, 48, 1, 1)
    assert shapes["shared_cells.1.preprocess.1.weight"] == (16, 32, 1, 1)
    assert shapes["shared_cells.0.edges.0.sep_conv_3x3.0.1.weight"] == (16, 1, 3, 3)
    assert shapes["shared_cells.0.edges.0.sep_conv_5x5.1.2.weight"] == (16, 16, 1, 1)
    assert shapes["shared_cells.0.edges.2.dil_conv_5x5.1.weight"] == (16, 1, 5, 5)
    assert shapes["classifier.weight"] == (10, 32)
    assert len(model.shared_cells) == 4 and len(model.child_cells) == 0
    # search-cell BN has no affine parameters
    assert not any("preprocess.2" in n for n in shapes)
    bn = model.shared_cells[0].edges[2]["dil_conv_5x5"][0]
    assert model.shared_cells[0].edges[2]["dil_conv_5x5"][1].dilation == (2, 2)
    assert bn.__class__.__name__ == "ReLU"
    assert model.stem[1].momentum == 0.4


def test_output_is_logits_for_any_child():
    cfg = tiny_config()
    model = build_supernet(cfg, 10)
    x, _ = _batch(cfg)
    assert model(x, "434").shape == (16, 10)


def test_prefix_step_changes_shared_prefix_and_own_parts_only():
    cfg = tiny_config(sharing="prefix", k=1, grad_clear="none")
    model = build_supernet(cfg, 10)
    assert set(model.child_cells) == set(cfg.run_children())
    opt = make_optimizer(cfg, model)
    before = _params(model)
    x, y = _batch(cfg)
    train_step(cfg, model, opt, x, y, "123")
    changed = _changed(before, model)
    assert any(n.startswith("stem.") for n in changed)
    assert any(n.startswith("shared_cells.0.") for n in changed)
    assert any(n.startswith("child_cells.123.") for n in changed)
    assert "classifier.123.weight" in changed
    others = [
        n
        for n in changed
        if n.startswith(("child_cells.", "classifier."))
        and ".123." not in n
        and not n.startswith("classifier.123")
    ]
    assert others == []
    # child B's own cells and classifier: untouched
    assert not any(n.startswith(("child_cells.444.", "classifier.444")) for n in changed)


def test_prefix_k_equal_n_cells_keeps_a_classifier_per_child():
    cfg = tiny_config(sharing="prefix", k=2)
    model = build_supernet(cfg, 10)
    assert len(model.child_cells) == 0 and len(model.classifier) == 64


def test_group_run_holds_only_its_group_and_other_groups_never_change():
    cfg0 = tiny_config(sharing="groups", m=4, grouping="similar", group=0)
    cfg1 = tiny_config(sharing="groups", m=4, grouping="similar", group=1)
    m0, m1 = build_supernet(cfg0, 10), build_supernet(cfg1, 10)
    assert m0.child_names == cfg0.run_children() and "211" not in m0.child_names
    before1 = _params(m1)
    opt0 = make_optimizer(cfg0, m0)
    x, y = _batch(cfg0)
    for child in cfg0.run_children()[:3]:
        train_step(cfg0, m0, opt0, x, y, child)
    assert _changed(before1, m1) == set()
    assert {id(p) for p in m0.parameters()}.isdisjoint({id(p) for p in m1.parameters()})


def _op_after_two_steps(grad_clear):
    cfg = tiny_config(grad_clear=grad_clear)
    model = build_supernet(cfg, 10)
    opt = make_optimizer(cfg, model)
    x, y = _batch(cfg)
    train_step(cfg, model, opt, x, y, "111")  # max_pool on every edge
    train_step(cfg, model, opt, x, y, "222")  # sep_conv_3x3 on every edge
    w = model.shared_cells[0].edges[0]["sep_conv_3x3"][0][1].weight
    before = w.detach().clone()
    train_step(cfg, model, opt, x, y, "333")  # sep_conv_3x3 not selected now
    return before, w.detach()


def test_zeroed_gradients_keep_moving_ops_used_before():
    before, after = _op_after_two_steps("zero")
    assert not torch.equal(before, after)


def test_none_gradients_leave_unselected_ops_untouched():
    before, after = _op_after_two_steps("none")
    assert torch.equal(before, after)


def test_never_used_op_does_not_move_even_with_zeroed_gradients():
    cfg = tiny_config(grad_clear="zero")
    model = build_supernet(cfg, 10)
    opt = make_optimizer(cfg, model)
    x, y = _batch(cfg)
    w = model.shared_cells[0].edges[0]["dil_conv_5x5"][1].weight
    before = w.detach().clone()
    train_step(cfg, model, opt, x, y, "111")
    train_step(cfg, model, opt, x, y, "222")
    assert torch.equal(before, w.detach())


def test_prefix_children_own_copies_start_from_the_same_weights():
    """The paper's code saves every child's unshared part from one network at the start."""
    cfg = tiny_config(sharing="prefix", k=1)
    model = build_supernet(cfg, 10)
    a, b = model.child_cells["243"][0], model.child_cells["213"][0]
    assert torch.equal(a.preprocess[1].weight, b.preprocess[1].weight)
    # the same op on the same edge: identical; other ops are not held at all
    sa, sb = a.edges[2]["sep_conv_5x5"].state_dict(), b.edges[2]["sep_conv_5x5"].state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    assert list(a.edges[0]) == ["sep_conv_3x3"] and list(b.edges[0]) == ["sep_conv_3x3"]
    assert list(a.edges[1]) == ["dil_conv_5x5"] and list(b.edges[1]) == ["max_pool_3x3"]
    heads = model.classifier
    assert torch.equal(heads["243"].weight, heads["111"].weight)
    assert heads["243"].weight is not heads["111"].weight  # copies, not one tensor
