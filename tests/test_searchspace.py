import pytest

from nas.core.schedule import ChildSchedule
from nas.core.searchspace import partition
from nas.core.spaces import PAPER_OPS
from nas.core.spaces import Darts as SearchSpace


def test_paper_space_has_64_children_named_111_to_444():
    space = SearchSpace()
    assert space.edges == [(0, 1), (0, 2), (1, 2)]
    assert len(space.children) == 64
    assert space.children[0] == "111" and space.children[-1] == "444"
    assert space.child_ops("142") == ["max_pool_3x3", "dil_conv_5x5", "sep_conv_3x3"]


def test_three_nodes_is_one_argument_away():
    space = SearchSpace(n_nodes=3)
    assert len(space.edges) == 6 and len(space.children) == 4096


def test_unknown_op_is_rejected_with_its_name():
    with pytest.raises(ValueError, match="conv_9x9"):
        SearchSpace(ops=(*PAPER_OPS[:3], "conv_9x9"))


def test_bad_child_name_is_rejected():
    with pytest.raises(ValueError, match="'154'"):
        SearchSpace().child_ops("154")


def test_similar_partition_is_lexicographic_blocks():
    groups = partition(SearchSpace().children, 8, "similar")
    assert groups[0] == ["111", "112", "113", "114", "121", "122", "123", "124"]
    assert groups[1][0] == "131" and groups[1][-1] == "144"
    assert groups[2][0] == "211"


def test_random_partition_is_seeded_and_covers_every_child():
    children = SearchSpace().children
    a, b = partition(children, 16, "random", seed=3), partition(children, 16, "random", seed=3)
    assert a == b != partition(children, 16, "random", seed=4)
    assert sorted(c for g in a for c in g) == children and all(len(g) == 4 for g in a)


@pytest.mark.parametrize("m", [0, 3, 5, 128])
def test_m_must_divide_the_children(m):
    with pytest.raises(ValueError, match="m="):
        partition(SearchSpace().children, m, "random")


def test_fixed_order_is_lexicographic():
    sched = ChildSchedule(["112", "111", "113"], "fixed", 0)
    assert [sched.child_at(s) for s in range(4)] == ["111", "112", "113", "111"]


def test_shuffled_order_repeats_and_reshuffled_changes_every_block():
    children = SearchSpace().children
    once = ChildSchedule(children, "shuffled", 5)
    first = [once.child_at(s) for s in range(64)]
    assert sorted(first) == children and first != children
    assert [once.child_at(s) for s in range(64, 128)] == first
    re = ChildSchedule(children, "reshuffled", 5)
    b0, b1 = [re.child_at(s) for s in range(64)], [re.child_at(s) for s in range(64, 128)]
    assert sorted(b0) == sorted(b1) == children and b0 != b1
    assert ChildSchedule(children, "shuffled", 6).child_at(0) != first[0] or first[1:3] != [
        ChildSchedule(children, "shuffled", 6).child_at(s) for s in (1, 2)
    ]


def test_random_partition_draws_the_papers_groups():
    """Golden: with the paper code's stable_partition seed 42, m = 16 puts 143, 144, 344 and
    424 in one group, the group of the paper's Figure 6."""
    groups = partition(SearchSpace().children, 16, "random", seed=42)
    assert ["143", "144", "344", "424"] in groups
    assert sorted(c for g in groups for c in g) == sorted(SearchSpace().children)
    assert {len(g) for g in groups} == {4}
