#include "support/sync_queue.h"

#include <chrono>
#include <optional>

#include <fmt/format.h>

using namespace std::chrono_literals;

namespace nvmemp::test {

using namespace wire;

wire::HostId test_host_id() {
  return {0x5a, 0x7e, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x0d, 0xe0};
}

Result<SyncQueue> SyncQueue::open(std::uint16_t port, bool digests) {
  auto conn = TcpClient::connect("127.0.0.1", port, 5s);
  if (!conn) {
    return tl::unexpected(conn.error());
  }
  SyncQueue q(std::move(*conn), RxParser(RxParams{}));
  IcReq req;
  req.hdgst = digests;
  req.ddgst = digests;
  if (auto s = q.conn_.send_all(encode_pdu(req)); !s) {
    return tl::unexpected(s.error());
  }
  std::optional<IcResp> resp;
  for (int i = 0; i < 20 && !resp; ++i) {
    auto chunk = q.conn_.recv_some(10s);
    if (!chunk) {
      return tl::unexpected(chunk.error());
    }
    if (chunk->empty()) {
      return make_error(Errc::Io, fmt::format("127.0.0.1:{}: closed before ICResp", port));
    }
    auto fed = q.parser_.feed(*chunk, [&](const Pdu& p) {
      if (const auto* r = std::get_if<IcResp>(&p.body)) resp = *r;
    });
    if (!fed) {
      return make_error(fed.error().code, fed.error().to_string());
    }
  }
  if (!resp) {
    return make_error(Errc::Protocol, "no ICResp");
  }
  q.icresp_ = *resp;
  q.tx_ = TxParams{resp->hdgst, resp->ddgst, resp->cpda};
  RxParams rx;
  rx.hdgst = resp->hdgst;
  rx.ddgst = resp->ddgst;
  q.parser_.set_params(rx);
  return q;
}

Result<Completion> SyncQueue::execute(Sqe sqe, const std::vector<std::uint8_t>& data) {
  const std::uint16_t cid = next_cid_++;
  sqe.set_cid(cid);
  const auto sgl = sqe.sgl1();
  const bool in_capsule = sgl.id == SglDescriptor::kIdDataBlockOffset;
  auto capsule = encode_pdu(CapsuleCmd{sqe.bytes, in_capsule ? Bytes(data) : Bytes()}, tx_);
  if (auto s = conn_.send_all(capsule); !s) {
    return tl::unexpected(s.error());
  }
  Completion c;
  std::optional<Error> err;
  bool done = false;
  for (int i = 0; i < 1000 && !done && !err; ++i) {
    auto chunk = conn_.recv_some(10s);
    if (!chunk) {
      return tl::unexpected(chunk.error());
    }
    if (chunk->empty()) {
      return make_error(Errc::Io, "connection closed by the target");
    }
    auto fed = parser_.feed(*chunk, [&](const Pdu& p) {
      if (done || err) {
        return;
      }
      if (const auto* r = std::get_if<CapsuleResp>(&p.body)) {
        c.cqe = decode_cqe(r->cqe);
        done = true;
      } else if (const auto* d = std::get_if<C2HData>(&p.body)) {
        if (!p.data_digest_ok) {
          err = Error{Errc::DigestMismatch, fmt::format("C2HData for cid {}: data digest mismatch", cid)};
          return;
        }
        if (d->cccid != cid || d->datao != c.data.size()) {
          err = Error{Errc::Protocol, fmt::format("C2HData cccid {} datao {} unexpected", d->cccid, d->datao)};
          return;
        }
        c.data.insert(c.data.end(), d->data.begin(), d->data.end());
        if (d->success) {
          c.cqe.cid = cid;
          c.by_success_flag = true;
          done = true;
        }
      } else if (const auto* r2t = std::get_if<R2T>(&p.body)) {
        if (r2t->cccid != cid || std::uint64_t{r2t->r2to} + r2t->r2tl > data.size()) {
          err = Error{Errc::Protocol, "R2T outside the command's data"};
          return;
        }
        // Answer with H2CData PDUs of at most MAXH2CDATA bytes, LAST_PDU on the last.
        std::uint32_t off = r2t->r2to;
        const std::uint32_t end = r2t->r2to + r2t->r2tl;
        while (off < end) {
          const std::uint32_t n = std::min(end - off, icresp_.maxh2cdata);
          H2CData h;
          h.cccid = cid;
          h.ttag = r2t->ttag;
          h.datao = off;
          h.last = off + n == end;
          h.data = Bytes(data).subspan(off, n);
          if (auto s = conn_.send_all(encode_pdu(h, tx_)); !s) {
            err = s.error();
            return;
          }
          off += n;
        }
      } else {
        err = Error{Errc::Protocol, fmt::format("unexpected {}", pdu_type_name(p.ch.type))};
      }
    });
    if (!fed) {
      return make_error(fed.error().code, fed.error().to_string());
    }
  }
  if (err) {
    return tl::unexpected(*err);
  }
  if (!done) {
    return make_error(Errc::Timeout, "no completion");
  }
  if (c.cqe.cid != cid) {
    return make_error(Errc::Protocol, fmt::format("completion for cid {} while waiting for {}", c.cqe.cid, cid));
  }
  return c;
}

Result<std::uint16_t> connect_queue(SyncQueue& q, const std::string& subnqn, std::uint16_t qid,
                                    std::uint16_t cntlid, std::uint32_t kato_ms) {
  auto data = encode_connect_data(test_host_id(), cntlid, subnqn, kTestHostNqn);
  if (!data) {
    return tl::unexpected(data.error());
  }
  ConnectParams p;
  p.qid = qid;
  p.sqsize = 31;
  p.kato_ms = kato_ms;
  auto c = q.execute(make_connect(p), std::vector<std::uint8_t>(data->begin(), data->end()));
  if (!c) {
    return tl::unexpected(c.error());
  }
  if (!c->cqe.status.ok()) {
    return make_error(Errc::Protocol, fmt::format("Connect qid {} to {}: {}", qid, subnqn,
                                                  c->cqe.status.to_string()));
  }
  return connect_cntlid(c->cqe.dw0);
}

}  // namespace nvmemp::test
