#include "raw_host.h"

#include <fmt/format.h>

using namespace std::chrono_literals;

namespace nvmemp::test {

using namespace wire;

Result<RawHost> RawHost::open(std::uint16_t port, bool digests, std::uint32_t maxr2t) {
  auto conn = TcpClient::connect("127.0.0.1", port, 5s);
  if (!conn) {
    return tl::unexpected(conn.error());
  }
  RawHost h(std::move(*conn));
  IcReq req;
  req.hdgst = digests;
  req.ddgst = digests;
  req.maxr2t = maxr2t;
  if (auto s = h.conn_.send_all(encode_pdu(req)); !s) {
    return tl::unexpected(s.error());
  }
  auto pdu = h.next_pdu(10s);
  if (!pdu) {
    return tl::unexpected(pdu.error());
  }
  if (!pdu->has_value()) {
    return make_error(Errc::Io, "closed before ICResp");
  }
  auto d = decode_pdu(**pdu, RxParams{});
  if (!d || !std::holds_alternative<IcResp>(d->body)) {
    return make_error(Errc::Protocol, "no ICResp");
  }
  h.icresp_ = std::get<IcResp>(d->body);
  h.tx_ = TxParams{h.icresp_.hdgst, h.icresp_.ddgst, h.icresp_.cpda};
  RxParams rx;
  rx.hdgst = h.icresp_.hdgst;
  rx.ddgst = h.icresp_.ddgst;
  h.parser_.set_params(rx);
  return h;
}

Result<void> RawHost::send_raw(const std::vector<std::uint8_t>& bytes) { return conn_.send_all(bytes); }

Result<void> RawHost::submit(Sqe sqe, std::uint16_t cid, std::vector<std::uint8_t> data) {
  sqe.set_cid(cid);
  const bool in_capsule = sqe.sgl1().id == SglDescriptor::kIdDataBlockOffset;
  auto pdu = encode_pdu(CapsuleCmd{sqe.bytes, in_capsule ? Bytes(data) : Bytes()}, tx_);
  if (!in_capsule && !data.empty()) {
    writes_[cid] = std::move(data);
  }
  return conn_.send_all(pdu);
}

Result<void> RawHost::on_pdu(const Pdu& p) {
  if (const auto* r = std::get_if<CapsuleResp>(&p.body)) {
    const Cqe c = decode_cqe(r->cqe);
    RawCompletion rc{c, std::move(reads_[c.cid])};
    reads_.erase(c.cid);
    writes_.erase(c.cid);
    done_[c.cid] = std::move(rc);
  } else if (const auto* d = std::get_if<C2HData>(&p.body)) {
    auto& buf = reads_[d->cccid];
    if (d->datao != buf.size()) {
      return make_error(Errc::Protocol, fmt::format("C2HData cid {} datao {} after {}", d->cccid, d->datao, buf.size()));
    }
    buf.insert(buf.end(), d->data.begin(), d->data.end());
    if (d->success) {
      Cqe c;
      c.cid = d->cccid;
      done_[d->cccid] = RawCompletion{c, std::move(buf)};
      reads_.erase(d->cccid);
    }
  } else if (const auto* r2t = std::get_if<R2T>(&p.body)) {
    auto it = writes_.find(r2t->cccid);
    if (it == writes_.end() || std::uint64_t{r2t->r2to} + r2t->r2tl > it->second.size()) {
      return make_error(Errc::Protocol, fmt::format("R2T for cid {} outside its data", r2t->cccid));
    }
    for (std::uint32_t off = r2t->r2to, end = r2t->r2to + r2t->r2tl; off < end;) {
      const std::uint32_t n = std::min(end - off, icresp_.maxh2cdata);
      H2CData h;
      h.cccid = r2t->cccid;
      h.ttag = r2t->ttag;
      h.datao = off;
      h.last = off + n == end;
      h.data = Bytes(it->second).subspan(off, n);
      if (auto s = conn_.send_all(encode_pdu(h, tx_)); !s) {
        return s;
      }
      off += n;
    }
  } else {
    stash_.emplace_back(p.raw.begin(), p.raw.end());
  }
  return {};
}

Result<std::map<std::uint16_t, RawCompletion>> RawHost::collect(std::size_t n, std::chrono::milliseconds quiet) {
  for (int i = 0; i < 100000 && done_.size() < n; ++i) {
    auto chunk = conn_.recv_some(quiet);
    if (!chunk) {
      return tl::unexpected(chunk.error());
    }
    if (chunk->empty()) {
      return make_error(Errc::Io, fmt::format("closed by the target with {} of {} completions", done_.size(), n));
    }
    std::optional<Error> err;
    auto fed = parser_.feed(*chunk, [&](const Pdu& p) {
      if (!err) {
        if (auto r = on_pdu(p); !r) err = r.error();
      }
    });
    if (!fed) {
      return make_error(fed.error().code, fed.error().to_string());
    }
    if (err) {
      return tl::unexpected(*err);
    }
  }
  return std::exchange(done_, {});
}

Result<std::optional<std::vector<std::uint8_t>>> RawHost::next_pdu(std::chrono::milliseconds timeout) {
  for (int i = 0; i < 1000 && stash_.empty(); ++i) {
    auto chunk = conn_.recv_some(timeout);
    if (!chunk) {
      return tl::unexpected(chunk.error());
    }
    if (chunk->empty()) {
      return std::optional<std::vector<std::uint8_t>>();
    }
    auto fed = parser_.feed(*chunk, [&](const Pdu& p) { stash_.emplace_back(p.raw.begin(), p.raw.end()); });
    if (!fed) {
      return make_error(fed.error().code, fed.error().to_string());
    }
  }
  if (stash_.empty()) {
    return make_error(Errc::Timeout, "no PDU");
  }
  auto out = std::move(stash_.front());
  stash_.erase(stash_.begin());
  return std::optional<std::vector<std::uint8_t>>(std::move(out));
}

bool RawHost::closed_within(std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  for (int i = 0; i < 1000 && std::chrono::steady_clock::now() < end; ++i) {
    auto chunk = conn_.recv_some(100ms);
    if (chunk && chunk->empty()) {
      return true;
    }
    if (!chunk && chunk.error().code != Errc::Timeout) {
      return true;  // reset counts as closed
    }
  }
  return false;
}

}  // namespace nvmemp::test
