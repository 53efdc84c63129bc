"""Every scenario field moves a result of the whole twin, or the schema says why it does not."""
import pytest

from twin.compare import field_sensitivity, sensitivity_table
from twin.scenario.schema import FIELDS


@pytest.fixture(scope="module")
def rows():
    """The sensitivity on cluster-2023; a field that preset pins (no valid perturbation there,
    e.g. the NVSwitch domain size) is perturbed on superpool-2025 instead."""
    out = field_sensitivity("cluster-2023")
    pinned = [r["field"] for r in out if not r["moved"] and r["note"].startswith("no valid perturbation")]
    if pinned:
        again = {r["field"]: r for r in field_sensitivity("superpool-2025", pinned)}
        out = [again.get(r["field"], r) for r in out]
    return out


def test_every_field_moves_a_result_or_is_label_only(rows):
    assert {r["field"] for r in rows} == {f.path for f in FIELDS}
    silent = [(r["field"], r["note"]) for r in rows if not r["moved"] and not r["label_only"]]
    assert not silent, silent


def test_label_only_fields_really_move_nothing(rows):
    """A field marked label_only that moves a result is mislabelled."""
    loud = [(r["field"], r["moved"][:5]) for r in rows if r["label_only"] and r["moved"]]
    assert not loud, loud


def test_known_couplings_reach_the_top(rows):
    by = {r["field"]: set(r["moved"]) for r in rows}
    # congestion control reaches the collectives, training and the cost per token
    assert {"fabric/node_bandwidth", "training/step_time", "cost/cost_per_million_tokens"} <= by["fabric.congestion_control"]
    # the installed storage reaches energy's IT power and the cost; the architecture moves the
    # capacity a job needs and the copies
    assert {"energy/it_power", "cost/annual_cost"} <= by["storage.capacity"]
    assert "storage/copies" in by["storage.architecture"]
    table = sensitivity_table(rows)
    assert all(t["status"] for t in table)
