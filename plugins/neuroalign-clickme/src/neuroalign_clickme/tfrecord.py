"""TFRecord files and ``tf.train.Example`` protos, read and written without TensorFlow.

A TFRecord file is a sequence of records, each framed as::

    uint64 length            little-endian
    uint32 masked_crc(length bytes)
    bytes  data[length]
    uint32 masked_crc(data)

where ``masked_crc(b) = ((c >> 15 | c << 17) + 0xa282ead8) mod 2**32`` and ``c`` is the CRC32C
(Castagnoli) of ``b`` (TensorFlow's ``core/lib/io/record_writer`` and ``crc32c.h``). Both CRCs are
verified on every read; a mismatch raises :class:`TFRecordError` naming the file, the record
and its byte offset.

The ClickMe shards hold one serialized ``tf.train.Example`` per record. Only the protobuf wire
features that proto uses are implemented here (varints, length-delimited fields, packed and
unpacked int64/float lists)::

    Example  { Features features = 1; }
    Features { map<string, Feature> feature = 1; }   # map entry: key = 1, value = 2
    Feature  { oneof { BytesList bytes_list = 1; FloatList float_list = 2; Int64List int64_list = 3; } }
    BytesList { repeated bytes value = 1; }  FloatList { repeated float value = 1 [packed]; }
    Int64List { repeated int64 value = 1 [packed]; }
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Union

import crc32c as _crc32c

from neuroalign.errors import NeuroalignError

__all__ = ["TFRecordError", "crc32c", "masked_crc32c", "read_records", "write_records",
           "parse_example", "serialize_example", "Feature", "RecordInfo"]

_MASK_DELTA = 0xA282EAD8
_U32 = 0xFFFFFFFF

#: a feature value: bytes list, float list or int list
Feature = Union[list[bytes], list[float], list[int]]


class TFRecordError(NeuroalignError, ValueError):
    """A TFRecord file or Example proto is malformed (bad CRC, truncation, bad wire format)."""


def crc32c(data: bytes) -> int:
    """CRC32C (Castagnoli polynomial) of ``data``."""
    return _crc32c.crc32c(data)


def masked_crc32c(data: bytes) -> int:
    """TensorFlow's masked CRC32C: rotate right by 15 bits and add a constant."""
    crc = crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & _U32) + _MASK_DELTA) & _U32


@dataclass(frozen=True)
class RecordInfo:
    """Where a record sits in its file: index and byte offset of its length header."""

    index: int
    offset: int


def read_records(source: str | Path | BinaryIO, *, verify: bool = True,
                 name: str | None = None) -> Iterator[tuple[RecordInfo, bytes]]:
    """Yield ``(RecordInfo, data)`` for every record of a TFRecord file.

    Parameters
    ----------
    source : path or binary file object
    verify : bool
        Check both CRCs of every record (default). Only turn off to inspect a damaged file.
    name : str, optional
        Name used in error messages (default: the path).

    Raises
    ------
    TFRecordError
        A CRC does not match, or the file ends inside a record.
    """
    if isinstance(source, (str, Path)):
        with open(source, "rb") as handle:
            yield from read_records(handle, verify=verify, name=name or str(source))
        return
    label = name or getattr(source, "name", "<stream>")
    offset, index = 0, 0
    while True:
        header = source.read(12)
        if not header:
            return
        if len(header) < 12:
            raise TFRecordError(
                f"{label}: truncated record header at byte {offset} (record {index}): "
                f"{len(header)} of 12 bytes; the file is incomplete, download it again")
        length_bytes, length_crc = header[:8], struct.unpack("<I", header[8:])[0]
        if verify and masked_crc32c(length_bytes) != length_crc:
            raise TFRecordError(
                f"{label}: record {index} at byte {offset}: length CRC mismatch (stored "
                f"0x{length_crc:08x}, computed 0x{masked_crc32c(length_bytes):08x}); the file is "
                "corrupt or not a TFRecord file: download it again")
        (length,) = struct.unpack("<Q", length_bytes)
        body = source.read(length + 4)
        if len(body) < length + 4:
            raise TFRecordError(
                f"{label}: record {index} at byte {offset} announces {length} bytes but the file "
                f"ends after {max(len(body) - 4, 0)}; the file is truncated: download it again")
        data, (data_crc,) = body[:length], struct.unpack("<I", body[length:])
        if verify and masked_crc32c(data) != data_crc:
            raise TFRecordError(
                f"{label}: record {index} at byte {offset}: data CRC mismatch (stored "
                f"0x{data_crc:08x}, computed 0x{masked_crc32c(data):08x}); the record is "
                "corrupt: download the file again")
        yield RecordInfo(index, offset), data
        offset += 12 + length + 4
        index += 1


def write_records(path: str | Path, records: Iterable[bytes]) -> int:
    """Write ``records`` as a TFRecord file (CRCs included); return the number written."""
    count = 0
    with open(path, "wb") as handle:
        for data in records:
            length = struct.pack("<Q", len(data))
            handle.write(length + struct.pack("<I", masked_crc32c(length)) + data
                         + struct.pack("<I", masked_crc32c(data)))
            count += 1
    return count


# ----------------------------------------------------------------------- protobuf wire format


def _varint(buffer: bytes, pos: int, label: str) -> tuple[int, int]:
    result, shift = 0, 0
    while True:
        if pos >= len(buffer):
            raise TFRecordError(f"{label}: varint runs past the end of the message")
        byte = buffer[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise TFRecordError(f"{label}: varint longer than 10 bytes")


def _fields(buffer: bytes, label: str) -> Iterator[tuple[int, int, bytes | int]]:
    """``(field number, wire type, value)``: bytes for length-delimited/fixed, int for varint."""
    pos = 0
    while pos < len(buffer):
        key, pos = _varint(buffer, pos, label)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buffer, pos, label)
            yield number, wire, value
        elif wire == 2:
            size, pos = _varint(buffer, pos, label)
            if pos + size > len(buffer):
                raise TFRecordError(f"{label}: field {number} runs past the end of the message")
            yield number, wire, buffer[pos:pos + size]
            pos += size
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            yield number, wire, buffer[pos:pos + size]
            pos += size
        else:
            raise TFRecordError(f"{label}: unsupported protobuf wire type {wire} (field {number})")


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _parse_feature(buffer: bytes, label: str) -> Feature:
    for number, wire, payload in _fields(buffer, label):
        if wire != 2:
            raise TFRecordError(f"{label}: Feature field {number} has wire type {wire}, not 2")
        assert isinstance(payload, bytes)
        if number == 1:  # BytesList
            return [v for n, w, v in _fields(payload, label) if n == 1 and isinstance(v, bytes)]
        if number == 2:  # FloatList: packed (wire 2) or one fixed32 per value (wire 5)
            floats: list[float] = []
            for n, w, v in _fields(payload, label):
                if n == 1 and isinstance(v, bytes):
                    floats.extend(struct.unpack(f"<{len(v) // 4}f", v))
            return floats
        if number == 3:  # Int64List: packed varints (wire 2) or one varint per value (wire 0)
            ints: list[int] = []
            for n, w, v in _fields(payload, label):
                if n != 1:
                    continue
                if isinstance(v, int):
                    ints.append(_signed64(v))
                else:
                    pos = 0
                    while pos < len(v):
                        value, pos = _varint(v, pos, label)
                        ints.append(_signed64(value))
            return ints
    return []


def parse_example(data: bytes, *, label: str = "Example") -> dict[str, Feature]:
    """Decode a serialized ``tf.train.Example`` into ``{feature name: list of values}``."""
    features: dict[str, Feature] = {}
    for number, _, payload in _fields(data, label):
        if number != 1 or not isinstance(payload, bytes):
            continue
        for entry_number, _, entry in _fields(payload, label):
            if entry_number != 1 or not isinstance(entry, bytes):
                continue
            key, value = None, b""
            for n, _, v in _fields(entry, label):
                if n == 1 and isinstance(v, bytes):
                    key = v.decode("utf-8")
                elif n == 2 and isinstance(v, bytes):
                    value = v
            if key is None:
                raise TFRecordError(f"{label}: a feature map entry has no key")
            features[key] = _parse_feature(value, f"{label} feature {key!r}")
    return features


def _encode_varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _encode_varint(number << 3 | 2) + _encode_varint(len(payload)) + payload


def serialize_example(features: Mapping[str, bytes | int | float | Sequence[bytes]
                                        | Sequence[int] | Sequence[float]]) -> bytes:
    """Serialize ``{name: value(s)}`` as a ``tf.train.Example`` (bytes, int64 or float lists)."""
    entries = b""
    for key in sorted(features):
        value = features[key]
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if all(isinstance(v, bytes) for v in values):
            feature = _field(1, b"".join(_field(1, v) for v in values))
        elif all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            feature = _field(3, _field(1, b"".join(_encode_varint(v) for v in values)))
        elif all(isinstance(v, float) for v in values):
            feature = _field(2, _field(1, struct.pack(f"<{len(values)}f", *values)))
        else:
            raise TypeError(f"feature {key!r}: values must be all bytes, all int or all float; "
                            f"found {[type(v).__name__ for v in values]}")
        entries += _field(1, _field(1, key.encode("utf-8")) + _field(2, feature))
    return _field(1, entries)
