"""Pure, deterministic customer-health scoring: no I/O, no Kafka, no wall clock.

The hot modules run compiled by Cython from this very source when that
form was built and matches it (scoring/accelerator.py), and as Python otherwise.
"""

from scoring import accelerator

__path__ = accelerator.search_path(__path__)
