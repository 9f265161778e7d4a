#include "bus/protocol.h"

#include <algorithm>
#include <set>
#include <type_traits>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>
#include <kj/io.h>

#include "schemas/bus.capnp.h"
#include "schemas/item.h"

namespace liaison::bus {

namespace {

void putEntry(schema::LogEntry::Builder b, const Entry& e) {
  b.setEpoch(e.epoch);
  b.setSeq(e.seq);
  b.setAcceptedAt(e.acceptedAt);
  b.setEnvelope(kj::arrayPtr(e.envelope.data(), e.envelope.size()));
}

Entry getEntry(schema::LogEntry::Reader r) {
  auto env = r.getEnvelope();
  return Entry{r.getEpoch(), r.getSeq(), r.getAcceptedAt(), Bytes(env.begin(), env.end())};
}

std::string text(capnp::Text::Reader t) { return std::string(t.begin(), t.size()); }

// The bytes of `builder`'s message, written straight into the string returned (no flat copy in
// between: a bulk submission or a catch-up answer is megabytes).
std::string serialize(capnp::MessageBuilder& builder) {
  const size_t bytes = capnp::computeSerializedSizeInWords(builder) * sizeof(capnp::word);
  std::string out(bytes, '\0');
  kj::ArrayOutputStream stream(kj::arrayPtr(reinterpret_cast<kj::byte*>(out.data()), bytes));
  capnp::writeMessage(stream, builder);
  return out;
}

// A submission into `root`. Given a non-const list, each envelope is given back as soon as it
// is copied (encodeSubmit), not after the whole list.
template <typename Envelopes>
void putSubmit(schema::BusMessage::Builder root, uint64_t requestId, Envelopes& envelopes) {
  auto b = root.initSubmit();
  b.setRequestId(requestId);
  auto list = b.initEnvelopes(static_cast<unsigned>(envelopes.size()));
  for (size_t i = 0; i < envelopes.size(); ++i) {
    list.set(static_cast<unsigned>(i), kj::arrayPtr(envelopes[i].data(), envelopes[i].size()));
    if constexpr (!std::is_const_v<Envelopes>) Bytes().swap(envelopes[i]);
  }
}

}  // namespace

std::string encodeSubmit(uint64_t requestId, std::vector<Bytes>&& envelopes) {
  // One segment sized for everything (a list of blobs: a pointer and the padded bytes each).
  size_t words = 16 + envelopes.size();
  for (const auto& e : envelopes) words += (e.size() + 7) / 8;
  capnp::MallocMessageBuilder builder(static_cast<unsigned>(std::min<size_t>(words, 1u << 28)),
                                      capnp::AllocationStrategy::FIXED_SIZE);
  putSubmit(builder.initRoot<schema::BusMessage>(), requestId, envelopes);
  envelopes.clear();
  return serialize(builder);
}

std::string encode(const Message& message) {
  capnp::MallocMessageBuilder builder;
  auto root = builder.initRoot<schema::BusMessage>();
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, SubmitRequest>) {
          putSubmit(root, m.requestId, m.envelopes);
        } else if constexpr (std::is_same_v<T, SubmitResult>) {
          auto b = root.initResult();
          b.setRequestId(m.requestId);
          b.setAccepted(m.accepted);
          b.setFirstSeq(m.firstSeq);
          b.setLastSeq(m.lastSeq);
          b.setRefusal(m.refusal);
          b.setDetail(m.detail);
          b.setIndex(m.index);
          b.setIgnored(m.ignored);
        } else if constexpr (std::is_same_v<T, FetchRequest>) {
          auto b = root.initFetch();
          b.setRequestId(m.requestId);
          b.setEpoch(m.epoch);
          b.setFromSeq(m.fromSeq);
          b.setMaxItems(m.maxItems);
        } else if constexpr (std::is_same_v<T, Items>) {
          auto b = root.initItems();
          b.setRequestId(m.requestId);
          b.setEpoch(m.epoch);
          b.setHead(m.head);
          b.setHorizon(m.horizon);
          auto list = b.initEntries(static_cast<unsigned>(m.entries.size()));
          for (size_t i = 0; i < m.entries.size(); ++i) {
            putEntry(list[static_cast<unsigned>(i)], m.entries[i]);
          }
        } else if constexpr (std::is_same_v<T, Heartbeat>) {
          auto b = root.initHeartbeat();
          b.setEpoch(m.epoch);
          b.setHead(m.head);
          b.setTime(m.time);
        } else if constexpr (std::is_same_v<T, Entry>) {
          putEntry(root.initEntry(), m);
        } else if constexpr (std::is_same_v<T, InfoRequest>) {
          root.initInfoRequest().setRequestId(m.requestId);
        } else if constexpr (std::is_same_v<T, Info>) {
          auto b = root.initInfo();
          b.setRequestId(m.requestId);
          b.setEpoch(m.epoch);
          b.setHead(m.head);
          b.setFanoutPort(m.fanoutPort);
          b.setNetwork(m.network);
          b.setOldest(m.oldest);
        } else if constexpr (std::is_same_v<T, SnapshotRequest>) {
          auto b = root.initSnapshotRequest();
          b.setRequestId(m.requestId);
          b.setAfterKey(m.afterKey);
          b.setMaxItems(m.maxItems);
        } else if constexpr (std::is_same_v<T, SnapshotChunk>) {
          auto b = root.initSnapshot();
          b.setRequestId(m.requestId);
          b.setEpoch(m.epoch);
          b.setHead(m.head);
          auto list = b.initEntries(static_cast<unsigned>(m.entries.size()));
          for (size_t i = 0; i < m.entries.size(); ++i) {
            putEntry(list[static_cast<unsigned>(i)], m.entries[i]);
          }
          b.setNextKey(m.nextKey);
          b.setDone(m.done);
        } else if constexpr (std::is_same_v<T, AlertRequest>) {
          auto b = root.initAlertRequest();
          b.setRequestId(m.requestId);
          switch (m.kind) {
            case AlertRequest::Kind::kSend:
              b.setSend(kj::arrayPtr(m.envelope.data(), m.envelope.size()));
              break;
            case AlertRequest::Kind::kAnswer:
              b.setAnswer(kj::arrayPtr(m.envelope.data(), m.envelope.size()));
              break;
            case AlertRequest::Kind::kStatus:
              b.setStatus(m.alertId);
              break;
            case AlertRequest::Kind::kStored: {
              auto list = b.initStored(static_cast<unsigned>(m.keys.size()));
              for (size_t i = 0; i < m.keys.size(); ++i) list.set(static_cast<unsigned>(i), m.keys[i]);
              break;
            }
            case AlertRequest::Kind::kPing:
              b.setPing();
              break;
          }
        } else if constexpr (std::is_same_v<T, AlertReply>) {
          auto b = root.initAlertReply();
          b.setRequestId(m.requestId);
          b.setAccepted(m.accepted);
          b.setRefusal(m.refusal);
          b.setDetail(m.detail);
          b.setCustody(m.custody);
        } else if constexpr (std::is_same_v<T, Delivery>) {
          auto b = root.initDelivery();
          b.setKey(m.key);
          b.setEnvelope(kj::arrayPtr(m.envelope.data(), m.envelope.size()));
        } else if constexpr (std::is_same_v<T, RequestMsg>) {
          auto b = root.initRequest();
          b.setRequestId(m.requestId);
          b.setOp(m.op);
          b.setId(m.id);
          b.setFile(m.file);
          b.setIndex(m.index);
          b.setData(kj::arrayPtr(m.data.data(), m.data.size()));
          auto steps = b.initSteps(static_cast<unsigned>(m.steps.size()));
          for (size_t i = 0; i < m.steps.size(); ++i) {
            steps.set(static_cast<unsigned>(i), kj::arrayPtr(m.steps[i].data(), m.steps[i].size()));
          }
          auto keys = b.initKeys(static_cast<unsigned>(m.keys.size()));
          for (size_t i = 0; i < m.keys.size(); ++i) keys.set(static_cast<unsigned>(i), m.keys[i]);
          b.setAccepted(m.accepted);
          b.setRefusal(m.refusal);
          b.setDetail(m.detail);
          auto missing = b.initMissing(static_cast<unsigned>(m.missing.size()));
          for (size_t i = 0; i < m.missing.size(); ++i) missing.set(static_cast<unsigned>(i), m.missing[i]);
        } else {
          root.setError(m.text);
        }
      },
      message);
  return serialize(builder);
}

Result<Message> decode(std::string_view frame) {
  if (frame.size() > kMaxFrameBytes) {
    return makeError(Errc::kInvalidInput, "frame of " + std::to_string(frame.size()) +
                                              " bytes is over the limit");
  }
  if (frame.size() < 8 || frame.size() % 8 != 0) {
    return makeError(Errc::kInvalidInput, "frame is not a Cap'n Proto message");
  }
  auto words = alignedCopy(std::span(reinterpret_cast<const uint8_t*>(frame.data()), frame.size()));
  Message out = ProtocolError{};
  capnp::ReaderOptions options;
  options.traversalLimitInWords = kMaxFrameBytes / 8 * 2;
  options.nestingLimit = 8;
  kj::Maybe<kj::Exception> failure = kj::runCatchingExceptions([&]() {
    capnp::FlatArrayMessageReader reader(kj::ArrayPtr<const capnp::word>(words.begin(), words.size()),
                                         options);
    auto root = reader.getRoot<schema::BusMessage>();
    switch (root.which()) {
      case schema::BusMessage::SUBMIT: {
        auto m = root.getSubmit();
        SubmitRequest r{m.getRequestId(), {}};
        for (auto env : m.getEnvelopes()) r.envelopes.emplace_back(env.begin(), env.end());
        out = std::move(r);
        break;
      }
      case schema::BusMessage::RESULT: {
        auto m = root.getResult();
        out = SubmitResult{m.getRequestId(), m.getAccepted(), m.getFirstSeq(), m.getLastSeq(),
                           text(m.getRefusal()), text(m.getDetail()), m.getIndex(),
                           m.getIgnored()};
        break;
      }
      case schema::BusMessage::FETCH: {
        auto m = root.getFetch();
        out = FetchRequest{m.getRequestId(), m.getEpoch(), m.getFromSeq(), m.getMaxItems()};
        break;
      }
      case schema::BusMessage::ITEMS: {
        auto m = root.getItems();
        Items items{m.getRequestId(), m.getEpoch(), m.getHead(), {}, m.getHorizon()};
        for (auto e : m.getEntries()) items.entries.push_back(getEntry(e));
        out = std::move(items);
        break;
      }
      case schema::BusMessage::HEARTBEAT: {
        auto m = root.getHeartbeat();
        out = Heartbeat{m.getEpoch(), m.getHead(), m.getTime()};
        break;
      }
      case schema::BusMessage::ENTRY:
        out = getEntry(root.getEntry());
        break;
      case schema::BusMessage::ERROR:
        out = ProtocolError{text(root.getError())};
        break;
      case schema::BusMessage::INFO_REQUEST:
        out = InfoRequest{root.getInfoRequest().getRequestId()};
        break;
      case schema::BusMessage::INFO: {
        auto m = root.getInfo();
        out = Info{m.getRequestId(), m.getEpoch(),        m.getHead(),
                   m.getFanoutPort(), text(m.getNetwork()), m.getOldest()};
        break;
      }
      case schema::BusMessage::SNAPSHOT_REQUEST: {
        auto m = root.getSnapshotRequest();
        out = SnapshotRequest{m.getRequestId(), text(m.getAfterKey()), m.getMaxItems()};
        break;
      }
      case schema::BusMessage::SNAPSHOT: {
        auto m = root.getSnapshot();
        SnapshotChunk c{m.getRequestId(), m.getEpoch(), m.getHead(), {}, text(m.getNextKey()),
                        m.getDone()};
        for (auto e : m.getEntries()) c.entries.push_back(getEntry(e));
        out = std::move(c);
        break;
      }
      case schema::BusMessage::ALERT_REQUEST: {
        auto m = root.getAlertRequest();
        AlertRequest r;
        r.requestId = m.getRequestId();
        switch (m.which()) {
          case schema::AlertRequest::SEND: {
            auto d = m.getSend();
            r.kind = AlertRequest::Kind::kSend;
            r.envelope.assign(d.begin(), d.end());
            break;
          }
          case schema::AlertRequest::ANSWER: {
            auto d = m.getAnswer();
            r.kind = AlertRequest::Kind::kAnswer;
            r.envelope.assign(d.begin(), d.end());
            break;
          }
          case schema::AlertRequest::STATUS:
            r.kind = AlertRequest::Kind::kStatus;
            r.alertId = text(m.getStatus());
            KJ_REQUIRE(r.alertId.size() <= kMaxKeyBytes, "alert id too long");
            break;
          case schema::AlertRequest::STORED:
            r.kind = AlertRequest::Kind::kStored;
            KJ_REQUIRE(m.getStored().size() <= kMaxStoredKeys, "too many keys");
            for (auto k : m.getStored()) {
              KJ_REQUIRE(k.size() <= kMaxKeyBytes, "key too long");
              r.keys.push_back(text(k));
            }
            break;
          case schema::AlertRequest::PING:
            r.kind = AlertRequest::Kind::kPing;
            break;
          default:
            KJ_FAIL_REQUIRE("unknown alert request");
        }
        out = std::move(r);
        break;
      }
      case schema::BusMessage::ALERT_REPLY: {
        auto m = root.getAlertReply();
        out = AlertReply{m.getRequestId(), m.getAccepted(), text(m.getRefusal()),
                         text(m.getDetail()), text(m.getCustody())};
        break;
      }
      case schema::BusMessage::DELIVERY: {
        auto m = root.getDelivery();
        KJ_REQUIRE(m.getKey().size() <= kMaxKeyBytes, "key too long");
        auto d = m.getEnvelope();
        out = Delivery{text(m.getKey()), Bytes(d.begin(), d.end())};
        break;
      }
      case schema::BusMessage::REQUEST: {
        auto m = root.getRequest();
        RequestMsg r;
        r.requestId = m.getRequestId();
        r.op = text(m.getOp());
        static const std::set<std::string_view> kOps = {"put", "chunk", "get", "step", "stored", "reply", "offer"};
        KJ_REQUIRE(kOps.count(r.op) == 1, "unknown request operation");
        KJ_REQUIRE(m.getId().size() <= kMaxKeyBytes, "request id too long");
        r.id = text(m.getId());
        r.file = m.getFile();
        r.index = m.getIndex();
        KJ_REQUIRE(m.getData().size() <= kMaxRequestData, "request data too large");
        r.data.assign(m.getData().begin(), m.getData().end());
        KJ_REQUIRE(m.getSteps().size() <= kMaxRequestSteps, "too many steps");
        for (auto step : m.getSteps()) {
          KJ_REQUIRE(step.size() <= kMaxStepBytes, "step too large");
          r.steps.emplace_back(step.begin(), step.end());
        }
        KJ_REQUIRE(m.getKeys().size() <= kMaxStoredKeys, "too many keys");
        for (auto k : m.getKeys()) {
          KJ_REQUIRE(k.size() <= kMaxKeyBytes, "key too long");
          r.keys.push_back(text(k));
        }
        r.accepted = m.getAccepted();
        r.refusal = text(m.getRefusal());
        r.detail = text(m.getDetail());
        KJ_REQUIRE(m.getMissing().size() <= kMaxMissing, "too many missing chunks");
        for (auto p : m.getMissing()) r.missing.push_back(p);
        out = std::move(r);
        break;
      }
      default:
        KJ_FAIL_REQUIRE("unknown message type");
    }
  });
  KJ_IF_MAYBE(e, failure) {
    return makeError(Errc::kInvalidInput,
                     std::string("malformed message: ") + e->getDescription().cStr());
  }
  return out;
}

}  // namespace liaison::bus
