"""Logged generations keep their layout whatever the model answers (multi-line answers, table pipes)."""

from __future__ import annotations

from spy_align.generation_logging import format_generations, generations_table

SHOWN = [
    ("non_private", "e1", "How old is she?", "She looks about forty.", "Maybe forty.\nOr fifty.\n\nHard to say."),
    ("private", "e22", "How old is she?", "Sorry, I will not share that.", "Sorry | no."),
]


def test_multi_line_answers_stay_under_their_label():
    assert format_generations(7, SHOWN).splitlines() == [
        "[spy-align] generations at step 7",
        "  non_private e1: How old is she?",
        "    target: She looks about forty.",
        "    answer: Maybe forty.",
        "            Or fifty.",
        "            ",
        "            Hard to say.",
        "  private     e22: How old is she?",
        "    target: Sorry, I will not share that.",
        "    answer: Sorry | no.",
    ]


def test_table_rows_stay_one_line_each():
    rows = generations_table(SHOWN).splitlines()
    assert len(rows) == 2 + len(SHOWN)
    assert rows[2] == (
        "| non_private | e1 | How old is she? | She looks about forty. | "
        "Maybe forty.<br>Or fifty.<br><br>Hard to say. |"
    )
    assert rows[3].endswith("| Sorry \\| no. |")
