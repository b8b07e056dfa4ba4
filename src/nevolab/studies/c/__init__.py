"""Study C: the low-rank factorized Deep GA on a small transformer language model and on pixel RL
(Garbus & Pollack 2025).

* :mod:`.spec` -- the five notebooks' parameters;
* :mod:`.paper` -- the paper's claims and numbers;
* :mod:`.variants` -- every variant name; the language-model variants' set-up, ranks, labels, genome sizes;
* :mod:`.lm` -- the population loss, the fixed windows, the Deep GA's ``make_train`` and Adam's;
* :mod:`.runs` -- one frozen run config per cached unit of language-model runs, and its tables;
* :mod:`.pixel_tasks` -- the pixel tasks, one table entry each; :mod:`.pixel` -- their Deep GA runs;
* :mod:`.confound` -- mutation effects at matched fitness;
* :mod:`.claims` -- the paper's claims and their verdicts (C3's and C5's tables);
* :mod:`.pages` -- each page's table and claims through the store;
* :mod:`.analysis` and :mod:`.figures` -- what the pages compute from their tables, and draw.
"""
