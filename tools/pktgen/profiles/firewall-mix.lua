-- Firewall mix for a two-port rig (see README.md): 10,000 UDP flows from the outside
-- zone to the inside, 14 of every 16 frames to the allowed port 5060 and 2 to port 9,
-- which the bench configuration denies. Frame size from the SIZE environment
-- variable (64 by default), rate in percent of line rate from RATE (100).
package.path = package.path .. ";?.lua;test/?.lua;app/?.lua;"
require "Pktgen"

local range = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "sbc_range.lua")

local size = tonumber(os.getenv("SIZE") or "64")
local rate = tonumber(os.getenv("RATE") or "100")
local dst_mac = os.getenv("DST_MAC") or "02:00:00:00:00:01"

-- 16 sequence slots: the allowed flows vary by source address (range below does
-- not apply to sequences), so each slot takes another source.
for slot = 0, 15 do
  local src = string.format("10.0.%d.%d", math.floor(slot / 200), slot % 200 + 1)
  local dport = (slot == 7 or slot == 15) and 9 or 5060
  pktgen.seqTable(slot, "0", {
    eth_dst_addr = dst_mac,
    eth_src_addr = "02:00:00:00:00:02",
    ip_dst_addr = string.format("192.0.2.%d", slot % 200 + 1),
    ip_src_addr = src .. "/8",
    sport = 10000 + slot,
    dport = dport,
    ethType = "ipv4",
    ipProto = "udp",
    vlanid = 1,
    pktSize = size,
  })
end
pktgen.set("0", "seq_cnt", 16)

-- For the flow count: the same mix over a source range, 10,000 addresses.
range("0", "src_ip", "10.0.0.1", "0.0.0.1", "10.0.0.1", "10.0.39.16")
range("0", "dst_ip", "192.0.2.1", "0.0.0.1", "192.0.2.1", "192.0.2.200")
range("0", "dst_port", 5060, 0, 5060, 5060)
range("0", "pkt_size", size, 0, size, size)
pktgen.set_proto("0", "udp")
pktgen.set("0", "rate", rate)
-- Flows over the range (allowed only), or the 14:2 mix over the sequences: pick one.
pktgen.set_range("0", os.getenv("MIX") == "1" and "off" or "on")
print("firewall-mix: size " .. size .. ", rate " .. rate .. "%; `start 0` to send")
