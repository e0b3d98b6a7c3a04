"""The bundled demo: a minute over a border post, built with airwatch's own encoders.

``python -m airwatch.demo captures/demo.pcapng`` rewrites the capture the README's first
command decodes.  It holds, on one pcapng with a Wi-Fi (radiotap) and a Bluetooth LE
interface, what the real captures in ../shared do not:

* ``1581F6DEMX0000000001``: a compliant drone on ASTM Remote ID over Wi-Fi beacon (channel 6),
  Bluetooth 4 legacy (one message per advertisement, rotating address) and Bluetooth 5 long
  range (message packs), circling the post at 120 m with its pilot standing still;
* ``ESP32DEMO0000000002``: a hobby transmitter on Wi-Fi NaN and beacon, on channel 149 (5 GHz);
* ``0K1ZA2B3C4D5E6F7``: an older DJI sending only DJI DroneID (no standard Remote ID);
* ``ABCDEMO000000000004``: a drone with only the French beacon;
* one Remote ID beacon whose Self-ID and SSID are markup, and one with a broken message pack;
* ordinary Wi-Fi around: access points, phones probing, data frames.

Deterministic: the same file every time.
"""

from __future__ import annotations

import math
import random
import sys
from pathlib import Path

from airwatch.contact import BasicID, DjiInfo, FrenchInfo, GeoPoint, HeightRef, Location, OperatorID, SelfID, System
from airwatch.encoders import bluetooth as ble
from airwatch.encoders import remoteid as rid
from airwatch.encoders import wifi
from airwatch.encoders.pcap import write_pcapng

START = 1_763_700_000.0  # 2025-11-21 04:40:00 UTC, at night
POST = (46.2044, 6.1432)  # the sensor
SECONDS = 60
RADIOTAP = 127
LE_PHDR = ble.LINKTYPE_BLUETOOTH_LE_LL_WITH_PHDR


def _offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    return lat + north_m / 111_320.0, lon + east_m / (111_320.0 * math.cos(math.radians(lat)))


def _rid_location(t: float, lat: float, lon: float, track: float, speed: float, alt: float, height: float) -> Location:
    return Location(lat=round(lat, 7), lon=round(lon, 7), alt_pressure_m=alt - 2.0, alt_geodetic_m=alt,
                    height_m=height, height_ref=HeightRef.TAKEOFF, direction=float(round(track) % 360),
                    speed_horizontal=round(speed * 4) / 4, speed_vertical=0.0, status=2, accuracy_horizontal=11,
                    accuracy_vertical=4, accuracy_baro=3, accuracy_speed=3, timestamp=round(t % 3600, 1),
                    timestamp_accuracy=0.1)


def frames() -> list[tuple[float, bytes, int]]:
    rng = random.Random(2025)
    out: list[tuple[float, bytes, int]] = []
    pilot = GeoPoint(*_offset(*POST, -300, 150), 402.0, "live_gnss")
    serial = "1581F6DEMX0000000001"
    for step in range(SECONDS * 2):  # compliant drone: 2 Hz on every transport
        t = START + step * 0.5
        angle = step / (SECONDS * 2) * 2 * math.pi
        lat, lon = _offset(*POST, 400 * math.cos(angle), 400 * math.sin(angle))
        loc = _rid_location(t, lat, lon, math.degrees(angle) + 90, 21.0, 520.0, 120.0)
        messages = [rid.encode_basic_id(BasicID(1, 2, serial)), rid.encode_location(loc),
                    rid.encode_system(System(1, 1, 1, 0, None, None, 1, 2, float(int(t))), pilot),
                    rid.encode_operator_id(OperatorID(0, "CHEdemo1234567k")),
                    rid.encode_self_id(SelfID(0, "Fence survey"))]
        pack = rid.encode_pack(messages)
        beacon = wifi.odid_beacon("60:60:1f:d0:00:01", pack, step, ssid=f"RID-{serial}", seq=step)
        out.append((t, wifi.radiotap_frame(beacon, channel=6, signal_dbm=-58 - step % 7), RADIOTAP))
        adva = f"c4:{step // 30:02x}:11:22:33:44"  # the advertiser address rotates
        out.append((t + 0.05, ble.bt4_frame(messages[step % 5], step, adva, linktype=LE_PHDR), LE_PHDR))
        out.append((t + 0.1, ble.bt5_frame(rid.encode_pack(messages[:3]), step, adva), LE_PHDR))

    for step in range(SECONDS):  # hobby transmitter on 5 GHz, NaN then beacon, one message at a time
        t = START + step + 0.3
        lat, lon = _offset(*POST, -150 + step, 220)
        loc = _rid_location(t, lat, lon, 0.0, 1.0, 430.0, 30.0)
        which = [rid.encode_basic_id(BasicID(1, 2, "ESP32DEMO0000000002")), rid.encode_location(loc),
                 rid.encode_system(System(0, 1, 1, 0, None, None, 1, 1, None), GeoPoint(*_offset(*POST, -160, 210), None, "takeoff"))]
        pack = rid.encode_pack([which[step % 3]], version=1)
        out.append((t, wifi.radiotap_frame(wifi.nan_sdf("84:cc:a8:d0:00:02", pack, step), channel=149), RADIOTAP))
        out.append((t + 0.02, wifi.radiotap_frame(wifi.odid_beacon("84:cc:a8:d0:00:02", pack, step, ssid="ESP32"),
                                                  channel=149), RADIOTAP))

    for step in range(SECONDS * 2):  # older DJI: DroneID only, coming in from the east
        t = START + step * 0.5 + 0.2
        lat, lon = _offset(*POST, 100, 900 - step * 6)
        info = DjiInfo(version=2, sequence=step, state=0x0F77, serial="0K1ZA2B3C4D5E6F7", product_type=68,
                       uuid="", yaw=-90.0, pitch=None, roll=None, v_north=0, v_east=-1200, v_up=0,
                       altitude_raw=600, height_raw=900, gps_time=(START + step * 0.5) * 1.0)
        ie = wifi.dji_droneid_ie(info, Location(lat=lat, lon=lon), GeoPoint(*_offset(*POST, 150, 2500), None, "pilot"),
                                 GeoPoint(*_offset(*POST, 150, 2500), None, "home"))
        mpdu = wifi.beacon("60:60:1f:d0:00:03", [wifi.ssid_ie("Mavic-3"), ie], seq=step)
        out.append((t, wifi.radiotap_frame(mpdu, channel=6, signal_dbm=-75), RADIOTAP))

    for step in range(SECONDS // 3):  # French beacon only
        t = START + step * 3 + 0.7
        lat, lon = _offset(*POST, -600, -200 + step * 10)
        ie = wifi.french_ie(FrenchInfo(1, "ABCDEMO000000000004", None),
                            Location(lat=lat, lon=lon, alt_msl_m=480, height_m=80, speed_horizontal=3, direction=90),
                            GeoPoint(*_offset(*POST, -600, -220), None, "takeoff"))
        mpdu = wifi.beacon("02:ab:cd:d0:00:04", [wifi.ssid_ie("FR-DEMO"), ie], seq=step)
        out.append((t, wifi.radiotap_frame(mpdu, channel=6, signal_dbm=-80), RADIOTAP))

    hostile = rid.encode_pack([rid.encode_basic_id(BasicID(1, 2, "[b]EVIL[/b]000000005")),
                               rid.encode_self_id(SelfID(0, "[@click=app.quit]X[/]"))])
    out.append((START + 10.0, wifi.radiotap_frame(wifi.odid_beacon("02:66:66:d0:00:05", hostile, 1,
                                                                   ssid="[red]ALARM[/red]")), RADIOTAP))
    broken = wifi.radiotap_frame(wifi.odid_beacon("02:66:66:d0:00:05", hostile, 2, ssid="x"))
    out.append((START + 11.0, broken[:-30], RADIOTAP))  # cut inside the pack

    aps = [(f"a4:2b:b0:{i:02x}:00:10", f"Post-{i}", rng.choice((1, 6, 11))) for i in range(12)]
    for step in range(SECONDS * 10):  # background: beacons at 10 Hz across the APs, probes, data
        t = START + step * 0.1 + 0.01
        bssid, ssid, ch = aps[step % len(aps)]
        out.append((t, wifi.radiotap_frame(wifi.ap_beacon(bssid, ssid, ch, seq=step), channel=ch,
                                           signal_dbm=-rng.randint(45, 90)), RADIOTAP))
        if step % 7 == 0:
            out.append((t + 0.03, wifi.radiotap_frame(wifi.probe_request(f"da:a1:19:00:00:{step % 5:02x}", seq=step)),
                        RADIOTAP))
        if step % 3 == 0:
            out.append((t + 0.05, wifi.radiotap_frame(wifi.data_frame("3c:22:fb:00:00:01", bssid, bssid,
                                                                      rng.randbytes(120), seq=step)), RADIOTAP))
    out.sort(key=lambda f: f[0])
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0] if args else "captures/demo.pcapng")
    write_pcapng(path, frames())
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
