"""Chord symbols for a melody (tunesmith.abc.chords): which chords, where they go, and that nothing else moves."""

from __future__ import annotations

import re
import shutil

import pytest

from tunesmith.abc.chords import chord_symbols, harmonize, is_chord_symbol, slots_per_bar, vocabulary
from tunesmith.abc.reader import read_tune
from tunesmith.abc.text import TOKEN, header_and_body, parse_fields, parse_tunebook
from tunesmith.abc.theory import CHORD, SEMITONE, chord_tones, key_signature
from tunesmith.abc.tools import run_tool

D_REEL = ("X:1\nT:Test Reel\nR:reel\nM:4/4\nL:1/8\nK:D\n"
          "|:d2fd A2FA|DFAd f2ed|B2gB A2FA|GBed ceAc|\nd2fd A2FA|DFAd f2ed|B2gB AGFE|ceAc d4:|")
A_DORIAN = ("X:1\nT:Dorian Jig\nR:jig\nM:6/8\nL:1/8\nK:Ador\n"
            "|:A2B c2d|e2d c2A|G3 GAB|d2B G2E|A2B c2d|e2f g2e|d2B G2B|A3 A3:|")
E_JIG = ("X:1\nT:Minor Jig\nR:jig\nM:6/8\nL:1/8\nK:Em\n"
         "|:E2B B2A|B2e edB|A2F D2F|A2B AFD|E2B B2A|B2e edB|dBA FED|E3 E3:|")
G_WALTZ = "X:1\nT:Waltz\nR:waltz\nM:3/4\nL:1/8\nK:G\nD2|G4 B2|d4 B2|c4 A2|F4 D2|G4 B2|d4 g2|f2 e2 f2|g6|]"
G_HORNPIPE = ("X:1\nT:Arpeggio\nR:hornpipe\nM:4/4\nL:1/8\nK:G\n"
              "|:GBdg B2G2|c2e2 A2c2|B2d2 G2B2|A2F2 D4|GBdg B2G2|c2e2 A2c2|B2d2 A2F2|G4 G4:|")
F_POLKA = "X:1\nT:Flat Polka\nR:polka\nM:2/4\nL:1/8\nK:F\n|:FA cA|Bd fd|cA FA|GE C2|FA cA|Bd fd|cB AG|F2 F2:|"
# Pickup, tuplets, broken rhythm, grace notes, a chord in brackets, a slur, a tie, rests, first and second endings.
BUSY = ("X:1\nT:Busy\nR:reel\nM:4/4\nL:1/8\nK:D\n"
        "A|:~d2 fd (3ABA FA|D>F A>d {g}f2 ed|[DF]2 [FA]2 (AB) z2|1 d2 A2- A2 FA:|2 d2 A2 d4||\n"
        "|:f6 ed|c4 (3cBA Bc|d8-|d2 fe d2 z2:|")
PLAIN_TUNES = [D_REEL, A_DORIAN, E_JIG, G_WALTZ, G_HORNPIPE, F_POLKA]  # no accidentals, no existing quotes


def body_bars(text: str) -> list[str]:
    """The bars of a tune body as written (split at bar lines, empty pieces dropped)."""
    body = "\n".join(header_and_body(text)[1])
    return [bar for bar in re.split(r":?\|[:\]12]*", body.replace("\n", "")) if bar.strip()]


def strip_quotes(text: str) -> str:
    return re.sub(r'"[^"]*"', "", text)


def struck_pitch_classes(text: str) -> list[int]:
    """For each chord symbol in a harmonized tune, the pitch class of the note written after it (no accidentals)."""
    signature = key_signature(parse_fields(text)["K"])
    found = []
    for line in header_and_body(text)[1]:
        tokens = list(TOKEN.finditer(line))
        for i, token in enumerate(tokens):
            if token.lastgroup == "text" and is_chord_symbol(token.group()):
                note = next(t for t in tokens[i + 1:] if t.lastgroup in ("note", "chord"))
                letter = re.search(r"[A-Ga-g]", note.group()).group().upper()
                found.append((SEMITONE[letter] + signature[letter]) % 12)
    return found


def test_a_d_major_reel_starts_and_ends_on_d_with_the_dominant_before():
    symbols = chord_symbols(D_REEL)
    assert symbols[0] == "D"
    assert symbols[-1] == "D"
    assert symbols[-2] in ("A", "A7")


def test_a_dorian_tune_uses_the_major_seventh_or_fourth_not_d_minor():
    symbols = chord_symbols(A_DORIAN)
    assert {"G", "D"} & set(symbols)
    assert "Dm" not in symbols
    assert symbols[0] == symbols[-1] == "Am"


def test_an_e_minor_jig_starts_on_e_minor():
    assert chord_symbols(E_JIG)[0] == "Em"
    assert chord_symbols(E_JIG)[-1] == "Em"


def test_a_g_major_arpeggio_bar_gets_g():
    assert chord_symbols(G_HORNPIPE)[:2] == ["G", "G"]
    assert '|:"G"GBdg "G"B2G2|' in harmonize(G_HORNPIPE)


@pytest.mark.parametrize("tune", [*PLAIN_TUNES, BUSY])
def test_removing_the_symbols_gives_back_the_text_exactly(tune):
    harmonized = harmonize(tune)
    assert harmonized != tune
    assert strip_quotes(harmonized) == tune
    assert harmonized.split("K:")[0] == tune.split("K:")[0]  # the header is untouched


def test_the_struck_note_is_mostly_a_chord_tone():
    hits = total = 0
    for tune in PLAIN_TUNES:
        harmonized = harmonize(tune)
        symbols = chord_symbols(tune)
        struck = struck_pitch_classes(harmonized)
        assert len(struck) == len(symbols)
        hits += sum(pc in chord_tones(symbol) for pc, symbol in zip(struck, symbols))
        total += len(symbols)
    assert hits / total >= 0.7, f"{hits}/{total}"


@pytest.mark.parametrize(("tune", "per_bar"), [(D_REEL, 2), (G_HORNPIPE, 2), (F_POLKA, 2), (E_JIG, 2), (G_WALTZ, 1)])
def test_symbols_per_bar_follow_the_metre(tune, per_bar):
    bars = body_bars(harmonize(tune))
    if tune is G_WALTZ:
        bars = bars[1:]  # the pickup "D2" is left unaccompanied
    assert [bar.count('"') // 2 for bar in bars] == [per_bar] * len(bars)


@pytest.mark.parametrize(("meter", "count"), [
    ("C", 2), ("C|", 2), ("4/4", 2), ("2/2", 2), ("2/4", 2), ("6/8", 2), ("12/8", 2), ("6/4", 2),
    ("3/4", 1), ("3/8", 1), ("9/8", 1), ("3/2", 1), ("5/4", 1), ("2+2+3/8", 1),
])
def test_slots_per_bar(meter, count):
    assert slots_per_bar(meter) == count


def test_per_bar_overrides_the_metre():
    assert len(chord_symbols(D_REEL, per_bar=1)) == 8
    assert len(chord_symbols(D_REEL, per_bar=4)) == 8 * 4 - 1  # the last bar's d4 fills its last two beats
    with pytest.raises(ValueError, match="per_bar"):
        harmonize(D_REEL, per_bar=0)


@pytest.mark.parametrize("tune", [*PLAIN_TUNES, BUSY])
def test_every_symbol_is_spelt_as_a_chord_symbol(tune):
    for symbol in chord_symbols(tune):
        assert CHORD.match(f'"{symbol}"'), symbol
        assert re.fullmatch(r"[A-G][#b]?m?7?", symbol), symbol


@pytest.mark.parametrize(("key", "expected"), [
    ("D", {"D", "G", "A", "A7", "Bm", "Em", "F#m"}),
    ("F", {"F", "Bb", "C", "C7", "Dm", "Gm", "Am"}),  # Bb, not A#
    ("Ador", {"Am", "G", "D", "C", "Em"}),  # dorian's IV is major
    ("Dmix", {"D", "C", "G", "Am", "Em"}),  # mixolydian's VII is major
    ("Em", {"Em", "D", "G", "Am", "C", "Bm", "B", "B7"}),  # minor: V major as an option
    ("Gm", {"Gm", "F", "Bb", "Cm", "Eb", "Dm", "D", "D7"}),
    ("F#m", {"F#m", "E", "A", "Bm", "D", "C#m", "C#", "C#7"}),  # C#, not Db
])
def test_the_palette_of_each_key(key, expected):
    chords = vocabulary(key)
    assert {chord.symbol for chord in chords} == expected
    assert chords[0].degree == 1


def test_a_flat_key_spells_its_chords_with_flats():
    symbols = chord_symbols(F_POLKA)
    assert "Bb" in symbols
    assert not any("#" in symbol for symbol in symbols)


@pytest.mark.parametrize(("symbol", "tones"), [
    ("D", {2, 6, 9}), ("Em", {4, 7, 11}), ("A7", {9, 1, 4, 7}), ("Bm", {11, 2, 6}), ("F#m", {6, 9, 1}),
    ("Bb", {10, 2, 5}), ("Am/C", {9, 0, 4}), ("D/F#", {2, 6, 9}), ("G/B", {7, 11, 2}), ('"C"', {0, 4, 7}),
    ("Gmaj7", {7, 11, 2, 6}), ("Bdim", {11, 2, 5}), ("Esus4", {4, 9, 11}), ("Bm7b5", {11, 2, 5, 9}),
    ("Am/G", {9, 0, 4, 7}), ("Ebm", {3, 6, 10}),
])
def test_chord_tones(symbol, tones):
    assert chord_tones(symbol) == frozenset(tones)


@pytest.mark.parametrize("text", ["Fine", "^D", "H", "", "dm"])
def test_chord_tones_refuses_what_is_no_chord(text):
    with pytest.raises(ValueError, match="not a chord symbol"):
        chord_tones(text)


def test_existing_chords_are_replaced_and_annotations_kept():
    marked = D_REEL.replace("|:d2fd", '|:"Bbm7"d2fd "^Fine"').replace("ceAc d4", '"(Em)"ceAc "Fine""E7/G#"d4')
    plain = D_REEL.replace("|:d2fd", '|:d2fd "^Fine"').replace("ceAc d4", 'ceAc "Fine"d4')
    harmonized = harmonize(marked)
    assert harmonized == harmonize(plain)
    assert "Bbm7" not in harmonized and "(Em)" not in harmonized and "E7/G#" not in harmonized
    assert '"^Fine"' in harmonized and '"Fine"' in harmonized
    assert harmonize(harmonize(D_REEL)) == harmonize(D_REEL)


@pytest.mark.parametrize(("header", "message"), [
    ("M:4/4\nL:1/8\nK:none", "no usable key"),
    ("M:4/4\nL:1/8\nK:HP", "no usable key"),
    ("M:4/4\nL:1/8", "no usable key"),
    ("L:1/8\nK:D", "no metre"),
    ("M:none\nL:1/8\nK:D", "no metre"),
])
def test_a_tune_without_key_or_metre_raises(header, message):
    with pytest.raises(ValueError, match=message):
        harmonize(f"X:1\nT:t\n{header}\n|d2fd A2FA|")


def test_symbols_go_before_decorations_tuplets_grace_notes_and_slurs():
    harmonized = harmonize(BUSY)
    assert harmonized.startswith(BUSY.split("A|:")[0] + "A|:")  # the pickup A gets no chord
    body = harmonized.split("K:D\n")[1]
    for written in ("~d2", "(3ABA", "{g}f2", "[DF]2", "(AB)"):
        assert re.search(rf'"[A-G][#b]?m?7?"{re.escape(written)}', body), written
    assert not re.search(r'[\^_=]"', body)  # never between an accidental and its letter
    assert not re.search(r'[~!.]"', body)  # never between a decoration and its note


def test_a_beat_inside_a_held_note_takes_the_next_note_or_none():
    bars = body_bars(harmonize(BUSY))
    assert re.fullmatch(r'"\w+"f6 "\w+"ed', bars[-4].strip())  # the half bar starts inside f6: the chord is on e
    assert bars[-2].count('"') == 2  # d8-: one chord, the second half bar has no note starting in it


def test_endings_close_on_the_tonic():
    symbols = chord_symbols(BUSY)
    assert symbols[0] == "D" and symbols[-1] == "D"
    harmonized = harmonize(BUSY)
    assert '|2 "D"d2 A2 "D"d4||' in harmonized
    assert '|1 "D"d2 A2- "D"A2 FA:|' in harmonized  # a tied note is written, so it can carry a symbol


def test_a_tune_without_notes_comes_back_unchanged():
    tune = "X:1\nT:Rests\nM:4/4\nL:1/8\nK:D\n|z8|Z2|]"
    assert harmonize(tune) == tune
    assert chord_symbols(tune) == []


def test_line_endings_and_comments_stay_byte_for_byte():
    tune = "X:1\r\nT:t\r\nM:6/8\r\nL:1/8\r\nK:G\r\n% a comment \"G\"\r\n|:GAB d2B|c2A F2D|GAB d2B|c2A G3:|\r\n"
    harmonized = harmonize(tune)
    assert strip_quotes(harmonized) == strip_quotes(tune)
    assert '% a comment "G"' in harmonized


def test_abc2midi_reads_the_harmonized_tunes(tmp_path):
    if shutil.which("abc2midi") is None:
        pytest.skip("abc2midi is not installed")
    (tmp_path / "tunes.abc").write_text("\n\n".join(harmonize(tune) for tune in [*PLAIN_TUNES, BUSY]) + "\n")
    code, output = run_tool(["abc2midi", "tunes.abc", "-o", "tunes.mid"], tmp_path, timeout=30)
    assert code == 0, output
    assert not [line for line in output.splitlines() if "Error" in line], output


def test_the_first_irish_tunes_harmonize_with_the_same_bars(irish_abc):
    tunes, _ = parse_tunebook(irish_abc.read_text(encoding="utf-8"), str(irish_abc))
    done = 0
    for tune in tunes[:50]:
        try:
            harmonized = harmonize(tune.text)
        except ValueError as error:
            assert "no usable key" in str(error) or "no metre" in str(error)
            continue
        before, after = read_tune(tune.text).bars, read_tune(harmonized).bars
        assert [bar.duration for bar in after] == [bar.duration for bar in before], tune.title
        assert strip_quotes(harmonized) == strip_quotes(tune.text), tune.title
        done += 1
    assert done >= 40
