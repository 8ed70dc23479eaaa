"""Features: the declared preprocessing, derived columns, the split, the catalog, point-in-time views.

`spec` compiles the `features` config into one scikit-learn ColumnTransformer that ships
inside the model; `expressions` and `transforms` are the safe expression language and
gitml's own transformers it may use; `split` is the featurize stage (de-duplicate, split);
`catalog` the feature catalog stage; `pointintime` the as-of joins of feature views.
"""

from __future__ import annotations

__all__ = ["catalog", "expressions", "pointintime", "spec", "split", "transforms"]
