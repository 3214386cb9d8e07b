"""Schema drift: read live schemas, keep baselines, diff, find the DDL in the binlog, plan safe reverts.

Data types live in `model`; `diff`, `render`, `reader`'s normalisers and `revert.plan_revert` are pure.
"""
