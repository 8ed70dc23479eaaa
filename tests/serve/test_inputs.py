"""Request bodies read alike: a CSV body's empty cells are the missing values Parquet holds as nulls."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from gitml.model.signature import Signature
from gitml.serve import protocol
from gitml.serve.inputs import Validator

SIGNATURE = Signature.model_validate({
    "name": "m", "task": "classification", "target": "y", "classes": ["no", "yes"],
    "inputs": [
        {"name": "sex", "dtype": "str", "role": "categorical", "categories": ["F", "M"], "max_null_fraction": 0.3},
        {"name": "age", "dtype": "float", "role": "numeric", "max_null_fraction": 0.3},
        {"name": "visits", "dtype": "int", "role": "numeric", "max_null_fraction": 0.3},
        {"name": "smoker", "dtype": "bool", "role": "categorical", "max_null_fraction": 0.3},
    ],
})


def test_a_csv_body_with_empty_cells_gives_the_rows_of_parquet_with_nulls(
    tmp_path: Path, with_gaps: Callable[..., tuple[Path, Path]]
) -> None:
    csv_file, parquet_file = with_gaps(tmp_path, 200)
    validator = Validator(SIGNATURE)
    from_csv = protocol.parse(csv_file.read_bytes(), "text/csv", validator, max_rows=1000)
    from_parquet = validator.from_frame(pd.read_parquet(parquet_file))
    assert from_csv.n == from_parquet.n == 200
    for name in SIGNATURE.names:
        got, expected = from_csv.columns[name], from_parquet.columns[name]
        assert pd.isna(got).tolist() == pd.isna(expected).tolist(), name
        assert pd.isna(got).any(), name
        present = ~pd.isna(expected)
        assert np.array_equal(got[present], expected[present]), name
    assert "" not in set(from_csv.columns["sex"][~pd.isna(from_csv.columns["sex"])])
