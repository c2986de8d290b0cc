"""An independent, naive hop-by-hop walk of a snapshot: the oracle the property tests hold
labnet.analysis.reachability against.

It shares nothing with labnet's analysis but the snapshot's data classes and the documented rules
(the module docstring of labnet/analysis/reachability.py). Where labnet indexes and caches, this walks
lists with ``ipaddress`` objects; where labnet subtracts boxes of (addresses × ports) to decide
whether a network ACL lets *every* packet of a subnet through, this tries every packet that could
decide it: the corners of the subnet and of each rule's range (a first-match verdict can only change
at a rule's edge). Slow and plain on purpose.
"""

from __future__ import annotations

import ipaddress
from itertools import product

EPHEMERAL = (1024, 65535)
PROTO = {"tcp": "6", "udp": "17", "icmp": "1", "-1": "-1", "all": "-1"}


def net(cidr):
    return ipaddress.ip_network(cidr, strict=False)


def proto(p):
    return PROTO.get(str(p).lower(), str(p))


class Walk:
    def __init__(self, snap):
        self.snap = snap

    # -- lookups by linear search ------------------------------------------------------------------
    def subnet(self, sid):
        return next((s for s in self.snap.subnets if s.id == sid), None)

    def spoke_of(self, vpc_id):
        return next((sp for sp in self.snap.spokes if sp.vpc_id == vpc_id), None)

    def route_table(self, sid):
        s = self.subnet(sid)
        for t in self.snap.route_tables:
            if sid in t.subnet_ids:
                return t
        return next((t for t in self.snap.route_tables if t.vpc_id == s.vpc_id and t.main), None)

    def acl(self, sid):
        s = self.subnet(sid)
        for a in self.snap.network_acls:
            if sid in a.subnet_ids:
                return a
        return next((a for a in self.snap.network_acls if a.vpc_id == s.vpc_id and a.default), None)

    def group(self, gid):
        return next((g for g in self.snap.security_groups if g.id == gid), None)

    def plist(self, pid):
        return next((p for p in self.snap.prefix_lists if p.id == pid), None)

    def attachment(self, tgw, aid):
        return next((a for a in self.snap.attachments if a.tgw_id == tgw and a.id == aid), None)

    def vpc_attachment(self, vpc_id, tgw=None):
        atts = [a for a in self.snap.attachments if a.resource_type == "vpc" and a.resource_id == vpc_id
                and (tgw is None or a.tgw_id == tgw)]
        sp = self.spoke_of(vpc_id)
        for a in atts:
            if sp and a.id == sp.attachment_id and a.state == "available":
                return a
        for a in atts:
            if a.state == "available":
                return a
        return atts[0] if atts else None

    def table_of(self, tgw, aid):
        for t in self.snap.tgw_route_tables:
            if t.tgw_id == tgw and aid in t.associations:
                return t
        return None

    # -- longest prefix match, by scanning every route --------------------------------------------
    def vpc_route(self, rt, block):
        best = None
        for r in rt.routes:
            if r.destination:
                cands = [(r.destination, 0 if r.target_type == "local" else 1)]
            else:
                pl = self.plist(r.prefix_list_id)
                cands = [(c, 2) for c in (pl.cidrs if pl else ())]
            for c, rank in cands:
                if block.subnet_of(net(c)):
                    key = (net(c).prefixlen, -rank)
                    if best is None or key > best[0]:
                        best = (key, r)
        return best[1] if best else None

    def tgw_route(self, table, block):
        routes = []
        for aid in table.propagations:
            a = self.attachment(table.tgw_id, aid)
            if a and a.state == "available" and a.resource_type == "vpc":
                vpc = next((v for v in self.snap.vpcs if v.id == a.resource_id), None)
                for c in (vpc.cidrs if vpc else ()):
                    routes.append((c, False, "active", (aid,)))
        for r in table.static_routes:
            routes.append((r.destination, True, r.state, r.attachment_ids))
        best = None
        for c, static, state, targets in routes:
            if block.subnet_of(net(c)):
                key = (net(c).prefixlen, static)
                if best is None or key > best[0]:
                    best = (key, state, targets)
        return (best[1], best[2]) if best else None

    # -- packets ---------------------------------------------------------------------------------
    def nacl_first_deny(self, acl, egress, p, ports, peer_block):
        """The rule number that drops some packet (peer address × port), or None if all pass."""
        entries = sorted((e for e in acl.entries if e.egress == egress and e.cidr), key=lambda e: e.rule_number)
        lo, hi = int(peer_block.network_address), int(peer_block.broadcast_address)
        addrs, pts = {lo, hi}, {ports[0], ports[1]}
        for e in entries:
            n = net(e.cidr)
            for a in (int(n.network_address) - 1, int(n.network_address), int(n.broadcast_address),
                      int(n.broadcast_address) + 1):
                if lo <= a <= hi:
                    addrs.add(a)
            if e.from_port >= 0:
                for q in (e.from_port - 1, e.from_port, e.to_port, e.to_port + 1):
                    if ports[0] <= q <= ports[1]:
                        pts.add(q)
        worst = None
        for a, q in product(sorted(addrs), sorted(pts)):
            verdict = 32767
            for e in entries:
                ep = proto(e.protocol)
                if ep != "-1" and ep != p:
                    continue
                if ipaddress.ip_address(a) not in net(e.cidr):
                    continue
                if ep in ("6", "17") and e.from_port >= 0 and not e.from_port <= q <= e.to_port:
                    continue
                verdict = None if e.allow else e.rule_number
                break
            if verdict is not None and (worst is None or verdict < worst):
                worst = verdict
        return worst

    def nacl(self, sid, egress, p, ports, peer_sid):
        acl = self.acl(sid)
        if acl is None:
            return None
        if self.nacl_first_deny(acl, egress, p, ports, net(self.subnet(peer_sid).cidr)) is None:
            return None
        return ("NACL_EGRESS" if egress else "NACL_INGRESS", acl.id)

    def refs_across(self, vpc_a, vpc_b):
        """AWS's rule for a group reference across a TGW (issue 19): an available VPC attachment of each
        VPC on one TGW in one Region, references enabled on that TGW and on both attachments."""
        for x in self.snap.attachments:
            if x.resource_type != "vpc" or x.resource_id != vpc_a or x.state != "available" or x.sg_referencing != "enable":
                continue
            tgw = next((t for t in self.snap.transit_gateways if t.id == x.tgw_id), None)
            if tgw is None or tgw.sg_referencing != "enable":
                continue
            for y in self.snap.attachments:
                if (y.resource_type == "vpc" and y.resource_id == vpc_b and y.tgw_id == x.tgw_id and y.region == x.region
                        and y.state == "available" and y.sg_referencing == "enable"):
                    return True
        return False

    def sg_ok(self, g, egress, p, port, peer_sid, peer_gid):
        peer = self.subnet(peer_sid)
        block = net(peer.cidr)
        rules = []
        for r in g.rules:
            if r.egress != egress:
                continue
            rp = proto(r.protocol)
            if rp != "-1" and (rp != p or (r.from_port != -1 and not r.from_port <= port <= r.to_port)):
                continue
            rules.append(r)
        if any(r.group_id == peer_gid and (peer.vpc_id == g.vpc_id or (not egress and self.refs_across(g.vpc_id, peer.vpc_id)))
               for r in rules):
            return True
        nets = [net(r.cidr) for r in rules if r.cidr]
        for r in rules:
            pl = self.plist(r.prefix_list_id) if r.prefix_list_id else None
            nets += [net(c) for c in (pl.cidrs if pl else ())]
        lo, hi = int(block.network_address), int(block.broadcast_address)
        points = {lo, hi}
        for n in nets:
            for a in (int(n.network_address) - 1, int(n.broadcast_address) + 1):
                if lo <= a <= hi:
                    points.add(a)
        return all(any(ipaddress.ip_address(a) in n for n in nets) for a in points)

    # -- the walk --------------------------------------------------------------------------------
    def leg(self, x, y, p, ports):
        if x == y:
            return None
        sx, sy = self.subnet(x), self.subnet(y)
        block = net(sy.cidr)
        rt = self.route_table(x)
        if rt is None:
            return ("NO_VPC_ROUTE", x)
        r = self.vpc_route(rt, block)
        if r is None:
            return ("NO_VPC_ROUTE", rt.id)
        if r.target_type == "local":
            if sx.vpc_id != sy.vpc_id:
                return ("NO_VPC_ROUTE", rt.id)
            return self.nacl(x, True, p, ports, y) or self.nacl(y, False, p, ports, x)
        if r.target_type != "transit-gateway":
            return ("NO_VPC_ROUTE", rt.id)
        tgw = r.target_id
        att = self.vpc_attachment(sx.vpc_id, tgw)
        if att is None or att.state != "available":
            sp = self.spoke_of(sx.vpc_id)
            return ("ATTACHMENT_NOT_AVAILABLE", att.id if att else (sp.attachment_id if sp and sp.attachment_id else tgw))
        if r.state != "active":
            return ("NO_VPC_ROUTE", rt.id)
        entry = next((sid for sid in sorted(att.subnet_ids) if self.subnet(sid) and self.subnet(sid).az == sx.az), None)
        if entry is None:
            return ("NO_ATTACHMENT_IN_AZ", att.id)
        bad = self.nacl(x, True, p, ports, y) or (self.nacl(entry, False, p, ports, x) if entry != x else None)
        if bad:
            return bad
        current, inbound, target = tgw, att.id, None
        for _ in range(4):
            table = self.table_of(current, inbound)
            if table is None:
                return ("TGW_NOT_ASSOCIATED", inbound)
            hit = self.tgw_route(table, block)
            if hit is None:
                dst = self.vpc_attachment(sy.vpc_id)
                if dst is None or dst.state != "available":
                    sp = self.spoke_of(sy.vpc_id)
                    return ("ATTACHMENT_NOT_AVAILABLE", dst.id if dst else (sp.attachment_id if sp and sp.attachment_id
                                                                            else sy.vpc_id))
                return ("TGW_NO_ROUTE", table.id)
            state, targets = hit
            if state == "blackhole":
                return ("TGW_BLACKHOLE", table.id)
            if not targets:
                return ("TGW_NO_ROUTE", table.id)
            nxt = self.attachment(current, targets[0])
            if nxt is None or nxt.state != "available":
                return ("ATTACHMENT_NOT_AVAILABLE", targets[0])
            if nxt.resource_type == "peering":
                if not nxt.peer_tgw_id:
                    return ("ATTACHMENT_NOT_AVAILABLE", nxt.id)
                current, inbound = nxt.peer_tgw_id, nxt.id
                other = self.attachment(current, inbound)
                if other is not None and other.state != "available":
                    return ("ATTACHMENT_NOT_AVAILABLE", nxt.id)
                continue
            if nxt.resource_type != "vpc" or nxt.resource_id != sy.vpc_id:
                return ("TGW_NO_ROUTE", table.id)
            target = nxt
            break
        if target is None:
            return ("TGW_NO_ROUTE", inbound)

        def in_az(az):
            return next((sid for sid in sorted(target.subnet_ids) if self.subnet(sid) and self.subnet(sid).az == az), None)

        landing = (in_az(sx.az) if target.region == att.region else None) or in_az(sy.az) or \
            (sorted(target.subnet_ids)[0] if target.subnet_ids else None)
        if landing is None or self.subnet(landing) is None:
            return ("NO_ATTACHMENT_IN_AZ", target.id)
        if landing == y:
            return None
        lrt = self.route_table(landing)
        back = self.vpc_route(lrt, block) if lrt else None
        if back is None or back.target_type != "local":
            return ("NO_VPC_ROUTE", lrt.id if lrt else landing)
        return self.nacl(landing, True, p, ports, y) or self.nacl(y, False, p, ports, x)

    def flow(self, src, s, dst, d, probe_proto, port):
        ga, gb = self.group(src.security_group_id), self.group(dst.security_group_id)
        if ga is None:
            return ("NOT_FOUND", src.security_group_id or src.vpc_id, "forward")
        if gb is None:
            return ("NOT_FOUND", dst.security_group_id or dst.vpc_id, "forward")
        if probe_proto == "efa":
            if not any(r.egress and proto(r.protocol) == "-1" and r.group_id == ga.id for r in ga.rules):
                return ("SG_EGRESS", ga.id, "forward")
            if not any(not r.egress and proto(r.protocol) == "-1" and r.group_id == gb.id for r in gb.rules):
                return ("SG_INGRESS", gb.id, "forward")
            return None
        p = proto(probe_proto)
        if not self.sg_ok(ga, True, p, port, d, gb.id):
            return ("SG_EGRESS", ga.id, "forward")
        bad = self.leg(s, d, p, (port, port))
        if bad:
            return (*bad, "forward")
        if not self.sg_ok(gb, False, p, port, s, ga.id):
            return ("SG_INGRESS", gb.id, "forward")
        bad = self.leg(d, s, p, EPHEMERAL)
        if bad:
            return (*bad, "return")
        return None

    def matrix(self, probes):
        """{(src, dst, probe label): (reachable, reason, blocked_at, path)}"""
        out = {}
        for src in self.snap.spokes:
            for dst in self.snap.spokes:
                for pr in probes:
                    key = (src.name, dst.name, pr.label)
                    if pr.protocol == "efa" and (src.name != dst.name or src.efa is False):
                        out[key] = (None, "NOT_APPLICABLE", "", "")
                        continue
                    verdict = None
                    for s in src.compute_subnet_ids:
                        for d in dst.compute_subnet_ids:
                            if verdict is None and not (pr.protocol == "efa" and s != d):
                                verdict = self.flow(src, s, dst, d, pr.protocol, pr.port)
                    out[key] = (True, "", "", "") if verdict is None else (False, verdict[0], verdict[1], verdict[2])
        return out
