-- Plain RTP through the media relay for a two-port rig (see README.md): CALLS calls
-- (1,000 by default), each gateway 198.51.100.1:(10000 + 2 i) sending to its relay
-- port 192.0.2.250:(20002 + 4 i), 50 packets per second per call, at a codec's size:
-- CODEC=g711 (172-byte RTP, the default), g722 (172), opus (92). The sessions must
-- exist first, plain both ways (README.md).
package.path = package.path .. ";?.lua;test/?.lua;app/?.lua;"
require "Pktgen"

local range = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "sbc_range.lua")

local calls = tonumber(os.getenv("CALLS") or "1000")
local codec = os.getenv("CODEC") or "g711"
local rtp = ({g711 = 172, g722 = 172, opus = 92})[codec]
local frame = 14 + 20 + 8 + rtp + 4
local link_mbps = tonumber(os.getenv("LINK_MBPS") or "10000")
local dst_mac = os.getenv("DST_MAC") or "02:00:00:00:00:01"
-- calls x 50 packets/s, in percent of the link's frame rate at this size (20 bytes of
-- preamble and gap per frame on the wire).
local percent = calls * 50 * (frame + 20) * 8 / (link_mbps * 1e6) * 100

pktgen.set_mac("0", "dst", dst_mac)
pktgen.set_proto("0", "udp")
pktgen.set("0", "size", frame)
range("0", "src_ip", "198.51.100.1", "0.0.0.0", "198.51.100.1", "198.51.100.1")
range("0", "dst_ip", "192.0.2.250", "0.0.0.0", "192.0.2.250", "192.0.2.250")
pktgen.range.src_port("0", "start", 10000)
pktgen.range.src_port("0", "inc", 2)
pktgen.range.src_port("0", "min", 10000)
pktgen.range.src_port("0", "max", 10000 + 2 * (calls - 1))
pktgen.range.dst_port("0", "start", 20002)
pktgen.range.dst_port("0", "inc", 4)
pktgen.range.dst_port("0", "min", 20002)
pktgen.range.dst_port("0", "max", 20002 + 4 * (calls - 1))
range("0", "pkt_size", frame, 0, frame, frame)
pktgen.set_range("0", "on")
pktgen.set("0", "rate", percent)
print(string.format("media-passthrough: %d calls of %s (%d-byte frames) at %.3f%% of %d Mb/s; `start 0` to send",
                    calls, codec, frame, percent, link_mbps))
