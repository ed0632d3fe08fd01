"""Rendering: MIDI, audio and sheet music through abc2midi, abcm2ps and a synthesizer; the demo gallery."""

from tunesmith._lazy import submodules

__getattr__ = submodules(__name__)
