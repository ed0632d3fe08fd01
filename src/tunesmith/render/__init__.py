"""Rendering: MIDI, audio and sheet music through abc2midi, abcm2ps and a synthesizer; the demo gallery."""
