"""The alarm engine behind the detector, on real records with injected events (pure, no services).

Expected onsets come from the injection (the reference beat before a pause, the first beat of a
warped stretch); a detected R peak may sit up to 150 ms from the cardiologists' mark (EC57)."""

from __future__ import annotations

import numpy as np
import pytest
import wfdb

from ecgdash.core.alarms import (
    AlarmConfig,
    AlarmEngine,
    Limits,
    PatientMonitor,
    Transition,
    beat_horizon,
)
from ecgdash.core.qrs import StreamingQRSDetector
from ecgdash.ingest.records import read_record
from tests.helpers import MITDB
from tests.helpers.alarm_signals import splice_pause, warp_rate

FS = 360.0
START_US = 1_000_000_000_000_000


def reference(name: str) -> np.ndarray:
    ann = wfdb.rdann(str(MITDB / name), "atr")
    return np.array([s for s, y in zip(ann.sample, ann.symbol, strict=True)
                     if y in set("NLRBAaJSVrFejnE/fQ!")])


def gains(name: str) -> tuple[float, ...]:
    return tuple(s.gain for s in read_record(MITDB / name).signals)


def feed(adc: np.ndarray, g: tuple[float, ...], limits: Limits = Limits(), *,
         skip: tuple[float, float] | None = None, monitor: PatientMonitor | None = None,
         roundtrip: bool = False) -> list[Transition]:
    """Feed 1-s chunks (arrival clock = signal clock); ``skip`` = seconds never sent."""
    m = monitor or PatientMonitor()
    m.set_leads(("a", "b"), g)
    out = []
    for i in range(0, adc.shape[0], int(FS)):
        if skip and skip[0] * FS <= i < skip[1] * FS:
            continue
        out += m.feed(i, START_US, FS, adc[i : i + int(FS)].T, limits,
                      arrival_ms=START_US // 1000 + round((i + FS) / FS * 1000))
        if roundtrip:
            m = PatientMonitor.from_bytes(m.to_bytes())
    return out


def s_of(us: int) -> float:
    return (us - START_US) / 1e6


def raised(out: list[Transition]) -> list[Transition]:
    return [t for t in out if t.action == "raise"]


@pytest.mark.parametrize("how", ["flat", "low-amplitude"])
def test_pause_is_asystole_with_the_last_beat_as_onset(how: str) -> None:
    """A flat line on every lead is asystole (high), not unusable signal; so is a low-amplitude
    stretch with no QRS (noise under 0.15 mV is not counted as beats)."""
    rec = read_record(MITDB / "119")
    adc, _, inj = splice_pause(rec.adc[: int(120 * FS)], reference("119"), FS, int(50 * FS), 10,
                               how)
    out = feed(adc, gains("119"))
    (asy,) = raised(out)
    assert (asy.kind, asy.priority) == ("asystole", "high")
    assert abs(s_of(asy.onset_us) - inj.onset / FS) < 0.15
    assert 4.0 <= s_of(asy.at_us) - s_of(asy.onset_us) < 5.5, "decided within ~1 s of 4 s"
    (end,) = [t for t in out if t.action == "end"]
    assert end.onset_us == asy.onset_us and s_of(end.at_us) > inj.end / FS - 0.3


def test_missing_data_is_signal_loss_not_asystole() -> None:
    rec = read_record(MITDB / "101")
    out = feed(rec.adc[: int(90 * FS)], gains("101"), skip=(40, 55))
    assert [(t.kind, t.priority, t.action) for t in out] == [
        ("signal_loss", "medium", "raise"), ("signal_loss", "medium", "end")]
    assert s_of(out[0].onset_us) == pytest.approx(40 - 1 / FS, abs=1e-5), "the last sample received"
    assert s_of(out[1].at_us) == pytest.approx(55, abs=1e-5)


def test_short_hole_raises_nothing() -> None:
    rec = read_record(MITDB / "101")
    assert feed(rec.adc[: int(90 * FS)], gains("101"), skip=(40, 45)) == []


def test_silence_on_the_arrival_clock() -> None:
    rec = read_record(MITDB / "101")
    m = PatientMonitor()
    feed(rec.adc[: int(30 * FS)], gains("101"), monitor=m)
    assert m.silence(m.last_arrival_ms + 9_000) == []
    (loss,) = m.silence(m.last_arrival_ms + 12_000)
    assert (loss.kind, loss.action, s_of(loss.onset_us)) == ("signal_loss", "raise",
                                                            pytest.approx(30 - 1 / FS, abs=1e-5))
    assert m.silence(m.last_arrival_ms + 20_000) == [], "raised once"
    back = m.feed(int(45 * FS), START_US, FS, rec.adc[int(45 * FS) : int(46 * FS)].T, Limits(),
                  arrival_ms=m.last_arrival_ms + 15_000)
    assert [(t.kind, t.action) for t in back] == [("signal_loss", "end")]
    assert s_of(back[0].at_us) == pytest.approx(45, abs=1e-5)


@pytest.mark.parametrize(("record", "bpm", "kind"), [("101", 170, "tachycardia"),
                                                     ("101", 35, "bradycardia"),
                                                     ("106", 170, "tachycardia")])
def test_warped_stretch_raises_rate_alarm_at_its_first_beat(record: str, bpm: float, kind: str
                                                            ) -> None:
    rec = read_record(MITDB / record)
    ref = reference(record)
    hr = 60 * FS / float(np.median(np.diff(ref[:100])))
    n_beats = 60 if bpm > 100 else 12
    adc, _, inj = warp_rate(rec.adc[: int(150 * FS)], ref, FS, int(50 * FS), n_beats, bpm / hr)
    out = raised(feed(adc[: int(inj.end / FS * FS)], gains(record)))
    assert out and {t.kind for t in out} == {kind}, out
    first = out[0]
    assert first.priority == "high" and abs(s_of(first.onset_us) - inj.onset / FS) < 0.2
    assert s_of(first.at_us) - inj.onset / FS < 7.0, "decided within 7 s of signal"


def test_sinus_rhythm_raises_nothing_and_limits_are_the_patients() -> None:
    rec = read_record(MITDB / "101")  # ~70 bpm
    adc = rec.adc[: int(240 * FS)]
    assert feed(adc, gains("101")) == []
    tight = Limits(brady_high=30, brady_medium=40, tachy_medium=60, tachy_high=200)
    out = raised(feed(adc, gains("101"), tight))
    assert [(t.kind, t.priority) for t in out] == [("tachycardia", "medium")]


def test_one_lead_flat_is_leads_off() -> None:
    rec = read_record(MITDB / "101")
    adc = rec.adc[: int(90 * FS)].copy()
    adc[int(30 * FS) : int(50 * FS), 1] = adc[int(30 * FS), 1]
    out = feed(adc, gains("101"))
    assert [(t.kind, t.priority, t.action) for t in out] == [
        ("leads_off", "low", "raise"), ("leads_off", "low", "end")]
    assert abs(s_of(out[0].onset_us) - 30) <= 1.0 and s_of(out[0].at_us) >= 40
    assert 50 <= s_of(out[1].at_us) <= 52


def test_state_round_trip_is_exact_and_bounded() -> None:
    """Restoring the monitor from its bytes after every chunk (a new micro-batch each second)
    decides exactly what one monitor decides; the state stays small."""
    rec = read_record(MITDB / "119")
    adc, _, _ = splice_pause(rec.adc[: int(150 * FS)], reference("119"), FS, int(60 * FS), 8)
    assert feed(adc, gains("119"), roundtrip=True) == feed(adc, gains("119"))
    m = PatientMonitor()
    feed(adc, gains("119"), monitor=m)
    assert len(m.to_bytes()) < 32_000


def test_beat_horizon_is_conservative() -> None:
    """No beat is ever emitted before a horizon reported earlier: an asystole decided at the
    horizon cannot be contradicted by a late beat."""
    rec = read_record(MITDB / "208")  # PVCs, couplets: search-back and premature candidates
    det = StreamingQRSDetector(FS, 2)
    best = 0
    for i in range(0, int(300 * FS), 250):
        res = det.process(rec.adc[i : i + 250].astype(float))
        assert all(b.index >= best for b in res.beats), (i, best)
        best = max(best, beat_horizon(det))
        assert best <= i + 250


def test_engine_state_is_json_and_limits_are_checked() -> None:
    import json

    e = AlarmEngine(AlarmConfig())
    e.beat(1_000_000, True, Limits())
    assert AlarmEngine.from_state(json.loads(json.dumps(e.state()))).state() == e.state()
    with pytest.raises(ValueError, match="limits"):
        Limits(brady_high=60, brady_medium=50)


def test_chunking_does_not_change_the_alarms() -> None:
    """The job feeds a patient's contiguous chunks of a batch in one call: 11-s calls decide the
    same events (same onsets) as 1-s ones, including the QRS amplitude gate and a pause that
    starts and ends inside one call."""
    rec = read_record(MITDB / "101")
    adc, _, _ = splice_pause(rec.adc[: int(120 * FS)], reference("101"), FS, int(30 * FS), 10,
                             "low-amplitude")

    def events(chunk_s: int) -> list[tuple]:
        m = PatientMonitor()
        m.set_leads(("a", "b"), gains("101"))
        out = []
        for i in range(0, adc.shape[0], int(chunk_s * FS)):
            out += m.feed(i, START_US, FS, adc[i : i + int(chunk_s * FS)].T, Limits())
        return [(t.kind, t.priority, t.action, t.onset_us) for t in out if t.action == "raise"]

    assert events(11) == events(8) == events(1) and events(1)[0][0] == "asystole"
