"""The loop guard on the captions the student project published (its report, section 8) and upstream's own."""

import pytest

from music_captioner.loop_guard import judge

# Verbatim from ../shared/reference/001_fc02a14308af0bd7.txt, section 8 (BART's output in that project).
REPORT_LOOPING = [
    "Someone very first notes p long notes long notes first notes children like notesmed straight first notes in the first two notes with notes panned to the very notes p sustained notes p deeper notes long weird first notes long - very first first notes",
    "very first notes p p long notes long notes long, children like notes childlike notes in the background two notes in harmon with long notes panned to the very notes p quirky long notes, wide, child child child notes enigmatic notes",
]
# The report's one sound caption, and the captions in LP-MusicCaps' README (../shared/reference/002_…).
SOUND = [
    "The low quality recording features a sustained strings melody played long notes in the background",
    "This is a symphonic orchestra playing  a piece that's riveting, thrilling and exciting. The peace would be suitable in a movie when something grand and impressive happens. There are clarinets, tubas, trumpets and french horns being played. The brass instruments help create that sense of a momentous occasion.",
    "This is a classical music piece from a movie soundtrack. There is a clarinet playing the main melody while a brass section and a flute are playing the melody. The rhythmic background is provided by the acoustic drums. The atmosphere is epic and victorious. This piece could be used in the soundtrack of a historical drama movie during the scenes of an army marching towards the end.",
    "This is a live performance of a classical music piece. There is a harp playing the melody while a horn is playing the bass line in the background. The atmosphere is epic. This piece could be used in the soundtrack of a historical drama movie during the scenes of an adventure video game.",
]


@pytest.mark.parametrize("caption", REPORT_LOOPING)
def test_flags_the_reports_looping_captions(caption):
    # Act
    verdict = judge(caption)
    # Assess
    assert verdict.looping
    assert verdict.distinct_bigram_share < 0.85


@pytest.mark.parametrize("caption", SOUND)
def test_passes_sound_captions(caption):
    # Act
    verdict = judge(caption)
    # Assess
    assert not verdict.looping, verdict.reasons


def test_names_each_symptom_it_found():
    # Act
    reasons = judge(REPORT_LOOPING[1]).reasons
    # Assess
    assert '"child" 3 times in a row' in reasons
    assert '"long notes" twice in a row' in reasons
    assert '"long notes" 4 times' in reasons


def test_flags_a_short_phrase_said_twice_in_a_row_and_an_empty_caption():
    # Act
    short, empty = judge("a piano a piano"), judge("  ")
    # Assess
    assert short.reasons == ('"a piano" twice in a row',)
    assert empty.reasons == ("no words",)
