"""Replay recordings as live patient streams, paced by the recording's own sampling rate.

Patient ``k`` of ``n`` replays recording ``k % R`` starting ``(k // R) * offset_s`` seconds into
it (so few records make many patients) and loops over it. Chunk ``j`` (samples
``[j*c, (j+1)*c)``, ``c = round(fs)``) is sent when its last sample would have been recorded:
``t0 + (j+1)*c / fs / speed``. Sample times come from the signal clock, never the send time.
The record's expert annotations of a chunk's samples follow it on the same key (one message,
only when there are any), so they are stored exactly once with the samples they label.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ecgdash.core.codec import (
    MAX_ANNOTATIONS,
    MAX_CHUNK,
    MAX_META_BYTES,
    Annotation,
    AnnotationBatch,
    PatientMeta,
    SampleChunk,
    decode,
    encode_annotations,
    encode_key,
    encode_meta,
    encode_samples,
)
from ecgdash.core.errors import ConfigError, DecodeError
from ecgdash.ingest.records import Recording


@dataclass
class PatientStream:
    """One patient's replay of `recording` from sample `source_offset`."""

    patient: str
    recording: Recording
    source_offset: int  # samples
    start_us: int  # epoch microseconds of stream sample 0
    n_total: int  # samples to send (the end of the replay)
    chunk: int  # samples per message
    next_index: int = 0
    # the record's annotation sample indices, built once (per chunk it was ~20 % of a 1,000-bed
    # replay's CPU: py-spy, issue 14)
    _ann_index: np.ndarray | None = field(default=None, repr=False, compare=False)

    def meta(self) -> PatientMeta:
        r = self.recording
        return PatientMeta(self.patient, r.name, r.fs, self.start_us, self.source_offset,
                           r.n_samples, r.signals)

    def take(self) -> SampleChunk:
        """The next chunk (all leads, ADC units), advancing the stream."""
        r = self.recording
        n = min(self.chunk, self.n_total - self.next_index)
        pos = (self.source_offset + self.next_index) % r.n_samples
        if pos + n <= r.n_samples:  # the usual case: no wrap to the record's start
            samples = r.adc[pos : pos + n].T.copy()
        else:
            samples = r.adc[(pos + np.arange(n)) % r.n_samples].T
        out = SampleChunk(self.patient, r.fs, self.start_us, self.next_index, samples)
        self.next_index += n
        return out

    def annotations_of(self, chunk: SampleChunk) -> AnnotationBatch | None:
        """The record's annotations of `chunk`'s samples, at stream indices (None if none)."""
        r = self.recording
        if not r.annotations:
            return None
        if self._ann_index is None:
            self._ann_index = np.fromiter((a.index for a in r.annotations), dtype=np.int64,
                                          count=len(r.annotations))
        idx = self._ann_index
        out: list[Annotation] = []
        first, n = chunk.first_index, chunk.n_samples
        # the stream loops over the record: stream index i is record sample (offset + i) % len
        pos = (self.source_offset + first) % r.n_samples
        done = 0
        while done < n:
            span = min(n - done, r.n_samples - pos)
            lo, hi = np.searchsorted(idx, [pos, pos + span])
            out += [Annotation(first + done + a.index - pos, a.symbol, a.subtype, a.chan, a.num,
                               a.aux_note) for a in r.annotations[lo:hi]]
            done += span
            pos = 0
        if not out:
            return None
        return AnnotationBatch(self.patient, r.annotator, r.fs, self.start_us, tuple(out))

    def due_s(self, speed: float | None) -> float:
        """Seconds after the replay start at which the next chunk is due (0 at max speed)."""
        if speed is None:
            return 0.0
        end = min(self.next_index + self.chunk, self.n_total)
        return end / self.recording.fs / speed


def fitting_messages(batch: AnnotationBatch) -> list[tuple[AnnotationBatch, bytes]]:
    """`batch` split, in order, into messages the consumers' decoder takes (at most
    ``MAX_ANNOTATIONS`` labels and 64 kB of JSON each), each with its encoded value: a second of a
    densely labelled record (a label on every sample, long aux notes) was one message over 64 kB,
    dead-lettered whole, and every label of that second lost."""
    out: list[tuple[AnnotationBatch, bytes]] = []
    pending = [batch.annotations]
    while pending:
        part = pending.pop()
        one = replace(batch, annotations=part)
        value = encode_annotations(one)
        if len(part) > 1 and (len(part) > MAX_ANNOTATIONS or not _decodes(one.patient, value)):
            half = len(part) // 2
            pending += [part[half:], part[:half]]  # the first half is taken next
        else:
            out.append((one, value))
    return out


def _decodes(patient: str, value: bytes) -> bool:
    """Whether the consumers' decoder takes `value` (annotations) as one message. Its labels are
    each checked when the record is read, so only the size is in question: a message within the
    decoder's JSON limit whole (frame included) is taken without decoding it (the common case)."""
    if len(value) <= MAX_META_BYTES:
        return True
    try:
        decode(encode_key(patient), value)
    except DecodeError:
        return False
    return True


def _chunk(fs: float) -> int:
    """Samples per message: one second's, within what one message carries (1-65535 samples)."""
    return max(1, min(round(fs), MAX_CHUNK))


def plan_streams(
    recordings: Sequence[Recording],
    n_patients: int,
    *,
    seconds: float | None,
    loop: bool,
    start_us: int,
    offset_s: float = 97.0,
    names: dict[str, str] | None = None,
) -> list[PatientStream]:
    """Make `n_patients` streams from `recordings`; `seconds` None means one pass (or forever).

    Every stream gets its own patient id (the record's name or its mapped id; copies add ``.1``,
    ``.2``, ...). Two streams under one id (two records of one name, two records mapped to one
    patient, or a copy's id that another record already has) raise ConfigError naming both, before
    anything is sent: their samples would interleave under one key, one record's dropped as
    conflicts and the rest stored with the other record's calibration.
    """
    if not recordings:
        raise ValueError("no readable recordings to replay")
    streams = []
    owner: dict[str, str] = {}  # patient id -> which stream has it
    for k in range(n_patients):
        rec = recordings[k % len(recordings)]
        copy = k // len(recordings)
        base_id = (names or {}).get(rec.name, rec.name)
        patient = base_id if copy == 0 else f"{base_id}.{copy}"
        what = f"record {rec.name!r}" + (f" (copy {copy})" if copy else "")
        if patient in owner:
            raise ConfigError(f"patient id {patient!r} would carry two streams, {owner[patient]} and "
                              f"{what}: give each record its own id (--mapping) or fewer --patients")
        owner[patient] = what
        offset = int(round(copy * offset_s * rec.fs)) % rec.n_samples
        if seconds is not None:
            total = int(round(seconds * rec.fs))
            if not loop:
                total = min(total, rec.n_samples)
        else:
            total = rec.n_samples if not loop else 2**62
        streams.append(
            PatientStream(patient, rec, offset, start_us, total, chunk=_chunk(rec.fs))
        )
    return streams


@dataclass
class ReplayStats:
    messages: int = 0
    samples: int = 0  # per lead summed over leads
    late_s_max: float = 0.0  # worst lag behind the schedule
    annotations: int = 0  # expert annotations sent


def replay(
    streams: Sequence[PatientStream],
    send: Callable[[bytes, bytes], None],
    *,
    speed: float | None,
    progress: Callable[[int], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ReplayStats:
    """Send each stream's metadata, then its chunks in due order; `speed` None = no pacing."""
    stats = ReplayStats()
    for s in streams:
        send(encode_key(s.patient), encode_meta(s.meta()))
        stats.messages += 1
    t0 = clock()
    heap = [(s.due_s(speed), i) for i, s in enumerate(streams) if s.n_total > 0]
    heapq.heapify(heap)
    while heap:
        due, i = heapq.heappop(heap)
        s = streams[i]
        wait = t0 + due - clock()
        if wait > 0:
            sleep(wait)
        else:
            stats.late_s_max = max(stats.late_s_max, -wait)
        chunk = s.take()
        send(encode_key(s.patient), encode_samples(chunk))
        stats.messages += 1
        labels = s.annotations_of(chunk)
        for part, value in fitting_messages(labels) if labels is not None else ():
            send(encode_key(s.patient), value)
            stats.messages += 1
            stats.annotations += len(part.annotations)
        n = chunk.samples.size
        stats.samples += n
        if progress:
            progress(n)
        if s.next_index < s.n_total:
            heapq.heappush(heap, (s.due_s(speed), i))
    return stats
