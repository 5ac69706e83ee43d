"""Search spaces as a registry (nas.core.spaces), NAS-Bench-201's cell and skeleton
(nas.model.skeletons), and the stratified sample a large space is evaluated on."""

from __future__ import annotations

import collections

import pytest
import torch

from nas.core import nasbench201 as nb
from nas.core.config import ConfigError, from_dict
from nas.core.sample import stratified_sample
from nas.core.spaces import SPACES, Darts, NasBench201, make_space
from nas.model.evaluate import evaluate_child_plain, evaluate_children, evaluate_scores
from nas.model.packed import build_packed
from nas.model.skeletons import SKELETONS, shared_layers
from nas.model.supernet import SuperNet, build_supernet
from nas.run.data import Split
from tests.test_nasbench201 import BEST

NB201 = dict(search_space="nasbench201", n_nodes=3, ops=list(nb.OPS))


def small_nb201(**over):
    values = dict(NB201, n_cells=3, stem_channels=4, cell_channels=4, eval_sample=25)
    return from_dict({**values, **over})


def test_the_registry_holds_the_papers_space_unchanged_and_nasbench201():
    assert set(SPACES) == {"darts", "nasbench201"}
    paper = make_space("darts", 2, Darts().ops)
    assert paper == Darts() and paper.n_children == 64 and paper.children[0] == "111"
    assert from_dict({}).space == paper  # the run config's default is the paper's space
    space = NasBench201()
    assert space.n_children == len(space.children) == nb.CELLS == 15_625
    assert space.edges == list(nb.EDGES)
    assert space.cell_output == "last" and space.skeleton == "nasbench201"


def test_every_child_maps_one_to_one_to_a_nasbench201_cell():
    space = NasBench201()
    keys = [space.benchmark_key(c) for c in space.children]
    assert len(set(keys)) == nb.CELLS
    assert all(nb.child_of(k) == c for k, c in zip(keys, space.children, strict=True))
    best = "444243"  # NAS-Bench-201's best CIFAR-10 cell (test_nasbench201)
    assert nb.arch_string(best) == BEST


def test_a_child_network_has_nasbench201s_published_parameter_count():
    """The skeleton (stem, 3 stages of 5 cells at 16/32/64 channels, residual reductions,
    BN-ReLU, classifier) and the ops are NAS-Bench-201's: a child's own network has the
    table's model size, once the affine BN weights its trained convs carry are counted (the
    super-net's search-cell BNs have none, as DARTS's)."""
    table = nb.read_plain(nb._table_bytes("cifar10"))
    for key in ("000000", "421211", "333333", "041232"):
        child = nb.child_of(key)
        net = SuperNet(NasBench201(), [child], 0, False, 15, 16, 16, n_classes=10)
        params = sum(p.numel() for p in net.parameters())
        convs = sum(c in "23" for c in key)  # nor_conv_1x1, nor_conv_3x3
        affine = sum(2 * c * convs * 5 for c in (16, 32, 64))
        assert params + affine == round(table[key]["model_size"][0] * 1e6), key


def test_a_nasbench201_config_with_the_wrong_shape_names_the_key():
    with pytest.raises(ConfigError, match="'ops'/'n_nodes'.*NAS-Bench-201's cell"):
        from_dict({"search_space": "nasbench201"})
    with pytest.raises(ConfigError, match="'n_cells'.*multiple of 3, got 4"):
        from_dict(dict(NB201, n_cells=4))
    with pytest.raises(ConfigError, match="'stem_channels'.*equal to cell_channels"):
        from_dict(dict(NB201, n_cells=3, stem_channels=48))
    with pytest.raises(ConfigError, match="'search_space'.*'darts', 'nasbench201'"):
        from_dict({"search_space": "nb"})


def test_the_sample_is_balanced_distinct_sorted_and_seeded():
    space = NasBench201()
    for n in (25, 100, 1000):
        sample = stratified_sample(space, n, seed=3)
        assert len(set(sample)) == n and sample == sorted(sample)
        for e in range(len(space.edges)):
            counts = collections.Counter(c[e] for c in sample)
            assert set(counts.values()) == {n // 5}, (n, e, counts)
    assert stratified_sample(space, 100, 3) == stratified_sample(space, 100, 3)
    assert stratified_sample(space, 100, 3) != stratified_sample(space, 100, 4)
    assert stratified_sample(Darts(), 64, 0) == Darts().children


def test_a_sample_size_that_cannot_be_balanced_is_a_config_error():
    with pytest.raises(ConfigError, match="'eval_sample'.*multiple of the 5 ops"):
        small_nb201(eval_sample=99)
    with pytest.raises(ConfigError, match="'eval_sample'.*multiple of the 4 ops.*64"):
        from_dict({"eval_sample": 128})


def test_runs_evaluate_the_sample_and_prefix_sharing_trains_only_it():
    cfg = small_nb201()
    assert len(cfg.run_children()) == 15_625 and cfg.eval_children() == cfg.sample()
    assert len(cfg.eval_children(final=True)) == 25
    assert len(small_nb201(eval_all_final=True).eval_children(final=True)) == 15_625
    group = small_nb201(sharing="groups", m=125, group=3, grouping="similar")
    assert set(group.eval_children()) == set(group.run_children()) & set(cfg.sample())
    prefix = small_nb201(sharing="prefix", k=1)
    assert prefix.run_children() == prefix.eval_children() == cfg.sample()


def test_prefix_sharing_counts_cells_and_fixed_layers_go_with_the_next_cell():
    cfg = small_nb201(n_cells=6)
    space = cfg.space
    from nas.model.skeletons import Shape

    layers = SKELETONS["nasbench201"].layers(Shape(space, 6, 4, 4, 0.1, 3))
    assert [s.is_cell for s in layers] == [1, 1, 0, 1, 1, 0, 1, 1, 0]
    assert [shared_layers(layers, k) for k in range(7)] == [0, 1, 2, 4, 5, 7, 9]


@pytest.mark.parametrize("k", [0, 1, 3])
def test_both_engines_equal_the_plain_forward_on_nasbench201(k):
    cfg = small_nb201(sharing="prefix", k=k) if k < 3 else small_nb201()
    torch.manual_seed(0)
    model = build_supernet(cfg, 10)
    val = Split(torch.randn(12, 3, 8, 8), torch.randint(0, 10, (12,)))
    children = cfg.eval_children()[:10]
    plain = {c: evaluate_child_plain(model, c, val, 12) for c in children}
    for engine in ("memo", "batched"):
        got = evaluate_children(model, children, val, 12, engine=engine)
        for c in children:
            assert got[c][0] == plain[c][0], (engine, c)
            assert got[c][1] == pytest.approx(plain[c][1], rel=1e-6), (engine, c)


def test_a_packed_nasbench201_model_scores_as_its_members():
    cfg = small_nb201()
    val = Split(torch.randn(8, 3, 8, 8), torch.randint(0, 10, (8,)))
    children = cfg.eval_children()[:5]
    packed = build_packed(cfg, [0, 1], 10, "cpu")
    _acc, loss = evaluate_scores(packed, children, val, 8, n_models=2)
    for k, seed in enumerate((0, 1)):
        alone = build_supernet(from_dict({**NB201, **_small(), "init_seed": seed}), 10)
        solo = evaluate_children(alone, children, val, 8)
        assert [row[k] for row in loss] == pytest.approx([solo[c][1] for c in children], rel=1e-5)


def _small() -> dict:
    return dict(n_cells=3, stem_channels=4, cell_channels=4, eval_sample=25)


def test_a_nasbench201_step_trains_the_chosen_ops_only():
    cfg = small_nb201()
    model = build_supernet(cfg, 10)
    child = "133333"  # `none` on 0->1, nor_conv_1x1 on the other five edges
    model(torch.randn(4, 3, 8, 8), child).sum().backward()
    edges = model.shared_cells[0].edges
    assert all(p.grad is None for e in edges for p in e["nor_conv_3x3"].parameters())
    assert all(p.grad is not None for e in edges[1:] for p in e["nor_conv_1x1"].parameters())
    assert edges[0]["nor_conv_1x1"][1].weight.grad is None
    assert model.stem[0].weight.grad is not None


def test_the_batched_engine_runs_as_many_operators_for_2000_children_as_for_100():
    """Each op of an edge runs once on the stacked inputs of all children that pick it, so
    one pass costs the same operator calls however many children are evaluated (a small
    sample may need a few more gathers, as fewer of its stacked rows are consecutive)."""
    from nas.model.opcount import operator_calls

    val = Split(torch.randn(1, 3, 8, 8), torch.randint(0, 10, (1,)))  # one pass for all
    counts = []
    for n in (25, 100, 500, 2000):
        cfg = small_nb201(eval_sample=n)
        model = build_supernet(cfg, 10).eval()
        children = cfg.eval_children()
        calls = operator_calls(
            lambda m=model, c=children: evaluate_children(m, c, val, 1, engine="batched")
        )
        counts.append(sum(calls.values()))
    assert counts[1] == counts[2] == counts[3] <= counts[0] < 1.1 * counts[1], counts
