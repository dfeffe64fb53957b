"""TFRecord framing (masked CRC32C) and tf.train.Example codec, against independent references."""

from __future__ import annotations

import struct

import pytest

from neuroalign_clickme.tfrecord import (
    TFRecordError,
    crc32c,
    masked_crc32c,
    parse_example,
    read_records,
    serialize_example,
    write_records,
)


def _crc32c_bitwise(data: bytes) -> int:
    """CRC32C, bit by bit from the reflected Castagnoli polynomial (independent of the package)."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def test_crc32c_check_value_and_bitwise_reference():
    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    for data in (b"", b"a", bytes(range(256)) * 3):
        assert crc32c(data) == _crc32c_bitwise(data)


def test_masked_crc_is_tensorflows_rotation_plus_delta():
    crc = _crc32c_bitwise(b"abc")
    expected = ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF
    assert masked_crc32c(b"abc") == expected


def test_records_round_trip_with_framing(tmp_path):
    records = [b"", b"x", bytes(range(200)) * 50]
    path = tmp_path / "a.tfrecords"
    assert write_records(path, records) == 3
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    assert length == 0 and struct.unpack("<I", raw[8:12])[0] == masked_crc32c(raw[:8])
    got = list(read_records(path))
    assert [data for _, data in got] == records
    assert [info.offset for info, _ in got] == [0, 16, 16 + 17]


@pytest.mark.parametrize("where, message", [(30, "length CRC mismatch"),
                                            (36, "data CRC mismatch"),
                                            (-2, "data CRC mismatch")])
def test_corrupted_record_is_refused_with_its_position(tmp_path, where, message):
    path = tmp_path / "a.tfrecords"
    write_records(path, [b"first", b"second record"])
    raw = bytearray(path.read_bytes())
    raw[where] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(TFRecordError, match=message) as error:
        list(read_records(path))
    assert "record 1 at byte 21" in str(error.value) and "a.tfrecords" in str(error.value)
    assert len(list(read_records(path, verify=False))) == 2  # only the check failed


def test_truncated_file_is_refused(tmp_path):
    path = tmp_path / "a.tfrecords"
    write_records(path, [b"first", b"second"])
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(TFRecordError, match="truncated"):
        list(read_records(path))


def test_example_round_trip():
    features = {"image": b"\xff\xd8jpeg", "heatmap": [b"a", b""], "label": 918,
                "neg": [-3, 0, 2 ** 40], "f": [0.5, -1.25]}
    parsed = parse_example(serialize_example(features))
    assert parsed == {"image": [b"\xff\xd8jpeg"], "heatmap": [b"a", b""], "label": [918],
                      "neg": [-3, 0, 2 ** 40], "f": [0.5, -1.25]}


def _example_classes():
    """tf.train.Example built from its .proto definition with protobuf (no TensorFlow)."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    fdp = descriptor_pb2.FileDescriptorProto(name="example_test.proto", package="tft",
                                             syntax="proto3")
    F = descriptor_pb2.FieldDescriptorProto

    def message(name, fields, options=None):
        m = fdp.message_type.add(name=name)
        for number, (fname, ftype, label, type_name) in enumerate(fields, 1):
            f = m.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                f.type_name = type_name
        return m

    rep, opt = F.LABEL_REPEATED, F.LABEL_OPTIONAL
    message("BytesList", [("value", F.TYPE_BYTES, rep, None)])
    message("FloatList", [("value", F.TYPE_FLOAT, rep, None)])
    message("Int64List", [("value", F.TYPE_INT64, rep, None)])
    feature = message("Feature", [("bytes_list", F.TYPE_MESSAGE, opt, ".tft.BytesList"),
                                  ("float_list", F.TYPE_MESSAGE, opt, ".tft.FloatList"),
                                  ("int64_list", F.TYPE_MESSAGE, opt, ".tft.Int64List")])
    feature.oneof_decl.add(name="kind")
    for field in feature.field:
        field.oneof_index = 0
    features = message("Features", [("feature", F.TYPE_MESSAGE, rep, ".tft.Features.FeatureEntry")])
    entry = features.nested_type.add(name="FeatureEntry")
    entry.field.add(name="key", number=1, type=F.TYPE_STRING, label=opt)
    entry.field.add(name="value", number=2, type=F.TYPE_MESSAGE, label=opt, type_name=".tft.Feature")
    entry.options.map_entry = True
    message("Example", [("features", F.TYPE_MESSAGE, opt, ".tft.Features")])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("tft.Example"))


def test_example_codec_agrees_with_protobuf():
    pytest.importorskip("google.protobuf")  # a dependency of gcsfs, always installed with us
    Example = _example_classes()
    ours = serialize_example({"image": b"\x01\x02", "label": 7, "score": [1.5]})
    theirs = Example.FromString(ours)
    assert theirs.features.feature["image"].bytes_list.value == [b"\x01\x02"]
    assert list(theirs.features.feature["label"].int64_list.value) == [7]
    assert list(theirs.features.feature["score"].float_list.value) == [1.5]
    message = Example()
    message.features.feature["heatmap"].bytes_list.value.append(b"hm")
    message.features.feature["label"].int64_list.value.extend([-5, 999])
    message.features.feature["w"].float_list.value.extend([0.25, 2.0])
    assert parse_example(message.SerializeToString()) == {
        "heatmap": [b"hm"], "label": [-5, 999], "w": [0.25, 2.0]}
