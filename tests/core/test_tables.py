"""The declared tables in datasets/tables/: each loader reads the bundled file and names the
table, row and key of a malformed one (an InputError, never a KeyError or a silent default)."""
from __future__ import annotations

import pytest

from twin.errors import InputError
from twin.paths import datasets_dir, load_toml, read_headlines

DOMAINS = ("interconnect", "fabric", "compute", "training", "platform", "storage", "energy", "cost")


def _write(tmp_path, text: str):
    p = tmp_path / "t.toml"
    p.write_text(text)
    return p


def test_every_domain_reads_its_headlines_from_the_table():
    import importlib

    table = load_toml(datasets_dir() / "tables" / "headlines.toml")
    assert sorted(table) == sorted(DOMAINS)
    for d in DOMAINS:
        rows = importlib.import_module(f"twin.{d}").HEADLINES
        assert rows == read_headlines(d) and len(rows) == len(table[d])
        assert all(isinstance(x, str) for r in rows for x in r)


@pytest.mark.parametrize("text, field", [
    ('[[other]]\nvariable = "a"\nlabel = "b"\nunit = ""\n', "headlines.compute"),
    ('[[compute]]\nvariable = "a"\nlabel = "b"\n', "headlines.compute[0].unit"),
    ('[[compute]]\nvariable = "a"\nlabel = "b"\nunit = ""\n[[compute]]\nvariable = 3\nlabel = "c"\nunit = ""\n',
     "headlines.compute[1].variable"),
])
def test_bad_headlines_table_names_the_row_and_key(tmp_path, text, field):
    with pytest.raises(InputError) as e:
        read_headlines("compute", _write(tmp_path, text))
    assert field in str(e.value)


def test_era_rows_are_read_and_a_bad_row_is_named(tmp_path):
    from twin.cost.eras import ERA_ROWS, read_era_rows

    assert read_era_rows() == ERA_ROWS and len(ERA_ROWS) > 5
    good = load_toml(datasets_dir() / "tables" / "eras.toml")["row"][0]
    bad = "\n".join(f"{k} = {v!r}".replace("'", '"') for k, v in good.items() if k != "unit")
    with pytest.raises(InputError) as e:
        read_era_rows(_write(tmp_path, "[[row]]\n" + bad + "\n"))
    assert "row[0].unit" in str(e.value)


def test_rejection_reasons_cover_every_kernel_code(tmp_path):
    from twin.training import _kernels as K
    from twin.training.plan import REASONS, read_reasons

    codes = {getattr(K, n) for n in dir(K) if n.startswith("R_")}
    assert set(REASONS) == codes and read_reasons() == REASONS
    with pytest.raises(InputError) as e:  # a reason missing
        read_reasons(_write(tmp_path, '[R_TP_HEADS]\nfield = "tp"\n'))
    assert "rejections.R_TP_HEADS.reason" in str(e.value)
    with pytest.raises(InputError) as e:  # a misspelt code
        read_reasons(_write(tmp_path, '[R_TP_HEAD]\nfield = "tp"\nreason = "x"\n'))
    assert "rejections.R_TP_HEAD" in str(e.value)


def test_model_fields_build_the_same_spec_and_a_bad_field_is_named(tmp_path):
    from twin.training.models import MODEL_FIELDS, ModelSpec, read_model_fields

    assert read_model_fields() == MODEL_FIELDS
    assert list(MODEL_FIELDS) == list(ModelSpec.__dataclass_fields__)
    text = (datasets_dir() / "tables" / "model_fields.toml").read_text()
    with pytest.raises(InputError) as e:  # an int field with a string default
        read_model_fields(_write(tmp_path, text.replace('[layers]\ntype = "int"\ndefault = 0', '[layers]\ntype = "int"\ndefault = "0"')))
    assert "model_fields.layers.default" in str(e.value)
    with pytest.raises(InputError) as e:
        read_model_fields(_write(tmp_path, text.replace('[layers]\ntype = "int"', '[layers]\ntype = "integer"')))
    assert "model_fields.layers.type" in str(e.value)
