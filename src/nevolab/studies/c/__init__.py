"""Study C: the low-rank factorized Deep GA on a small transformer language model (Garbus & Pollack 2025).

* :mod:`.spec` -- the three notebooks' parameters;
* :mod:`.variants` -- the paper's model variants: set-up, ranks, labels, genome sizes;
* :mod:`.lm` -- the population loss, the fixed windows, the Deep GA's ``make_train`` and Adam's;
* :mod:`.runs` -- one frozen run config per cached unit of runs, and its tidy tables through the store;
* :mod:`.claims` -- the paper's claims and their verdicts.
"""
