"""Commands built on the pipeline: diff, explain, import, init, docs."""
