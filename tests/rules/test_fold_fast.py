"""The dump fast path of folding (lower() then one replace per distinct character) gives exactly
what the general path gives, including the characters it must refuse (Σ's context-dependent
lowercase, ß and ligatures that expand, bare combining marks)."""

from __future__ import annotations

import random

import pytest

from crawler.rules.normalize import fold

ALPHABET = "abcÉéèêëàâäîïôöûüçœæßÀÇ ;-_\n\tXYZ0123ﬁİıΣσςÅÅ\u0301\u212aΩµ"


@pytest.mark.parametrize("mode", [(True, True), (False, True), (True, False)])
def test_fast_path_equals_general_path(mode):
    rng = random.Random(7)
    for _ in range(20_000):
        t = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 30)))
        slow, fast = fold(t, *mode), fold(t, *mode, utf8=t.encode())
        assert (fast.text, fast.nstarts, fast.nlens, fast.origs) == (
            slow.text, slow.nstarts, slow.nlens, slow.origs), repr(t)


def test_final_sigma_is_not_taken_by_the_fast_path():
    t = "ΑΘΗΝΑΣ leak"
    assert fold(t, utf8=t.encode()).text == fold(t).text == "αθηνασ leak"
