// The bridge's relay of MLA requests (site/request_relay.h), driven by hand as the two brokers
// would: what it sends each side, in what order, and that nothing is let go at the side that
// offered it before the other broker holds the whole thing.
#include <gtest/gtest.h>

#include "site/request_relay.h"
#include "site/requests.h"

namespace liaison::site {
namespace {

constexpr int kCasc = 0, kSeajust = 1;

bus::RequestMsg offer(const std::string& id, std::vector<std::string> keys = {}) {
  bus::RequestMsg m;
  m.op = "offer";
  m.id = id;
  m.data = Bytes{1, 2, 3};
  m.steps = {Bytes{4}, Bytes{5}};
  m.keys = keys.empty() ? std::vector<std::string>{"offer/" + id} : std::move(keys);
  return m;
}

bus::RequestMsg answer(const bus::RequestMsg& asked, bool accepted = true) {
  bus::RequestMsg r;
  r.requestId = asked.requestId;
  r.op = "reply";
  r.id = asked.id;
  r.file = asked.file;
  r.index = asked.index;
  r.accepted = accepted;
  if (!accepted) r.refusal = "peering closed";
  return r;
}

uint64_t position(uint32_t file, uint32_t index) { return uint64_t{file} << 32 | index; }

TEST(RequestRelay, AnOfferIsPutAcrossItsChunksMovedAndOnlyThenLetGo) {
  RequestRelay relay;
  relay.name(kCasc, "casc-bridge");
  relay.name(kSeajust, "seajust-bridge");
  relay.onDelivery(kCasc, offer("r1"), 0);
  EXPECT_TRUE(relay.take(kCasc, 0).empty());
  auto put = relay.take(kSeajust, 0);
  ASSERT_EQ(put.size(), 1u);
  EXPECT_EQ(put[0].op, "put");
  EXPECT_EQ(put[0].data, (Bytes{1, 2, 3}));
  EXPECT_EQ(put[0].steps.size(), 2u);  // "sent" and "accepted", as they were
  EXPECT_NE(put[0].requestId & RequestRelay::kRelayBit, 0u);
  EXPECT_NE(put[0].requestId & RequestDesk::kRequestBit, 0u);

  // The other broker lacks more chunks than the window: a window's worth is fetched at once from
  // the broker that offered it.
  const uint32_t lacking = RequestRelay::kWindow + 2;
  auto missing = answer(put[0]);
  for (uint32_t i = 0; i < lacking; ++i) missing.missing.push_back(position(0, i));
  relay.onReply(kSeajust, missing, 10);
  auto gets = relay.take(kCasc, 10);
  ASSERT_EQ(gets.size(), RequestRelay::kWindow);
  EXPECT_EQ(gets[0].op, "get");
  EXPECT_EQ(gets[0].index, 0u);
  // Each chunk fetched goes across as it came; each one stored there makes room for the next.
  uint32_t stored = 0;
  std::vector<bus::RequestMsg> pendingGets(gets.begin(), gets.end());
  while (!pendingGets.empty()) {
    auto get = pendingGets.front();
    pendingGets.erase(pendingGets.begin());
    auto got = answer(get);
    got.data = Bytes(10, static_cast<uint8_t>(get.index));
    relay.onReply(kCasc, got, 20);
    auto chunks = relay.take(kSeajust, 20);
    ASSERT_EQ(chunks.size(), 1u);
    EXPECT_EQ(chunks[0].op, "chunk");
    EXPECT_EQ(chunks[0].index, get.index);
    EXPECT_EQ(chunks[0].data, got.data);
    auto ack = answer(chunks[0]);
    if (++stored == lacking) ack.detail = "complete";
    relay.onReply(kSeajust, ack, 30);
    for (auto& m : relay.take(kCasc, 30)) {
      if (m.op == "get") pendingGets.push_back(m);
      if (m.op == "stored") {
        EXPECT_EQ(stored, lacking) << "let go before the other broker held it all";
        EXPECT_EQ(m.keys, std::vector<std::string>{"offer/r1"});
      }
    }
  }
  EXPECT_EQ(stored, lacking);
  EXPECT_EQ(relay.carrying(), 0u);
  EXPECT_EQ(relay.counters().carried, 1u);
  EXPECT_EQ(relay.counters().chunks, lacking);
}

TEST(RequestRelay, EvidenceKeepsItsRequestAndStepAndAStepIsGivenThenLetGo) {
  RequestRelay relay;
  auto evidence = offer("parcel", {"offer/parcel", "r1"});
  evidence.index = 6;
  relay.onDelivery(kSeajust, evidence, 0);
  auto put = relay.take(kCasc, 0);
  ASSERT_EQ(put.size(), 1u);
  EXPECT_EQ(put[0].keys, std::vector<std::string>{"r1"});
  EXPECT_EQ(put[0].index, 6u);

  bus::RequestMsg step;
  step.op = "step";
  step.id = "r1";
  step.steps = {Bytes{9}};
  step.keys = {"step/r1/3"};
  relay.onDelivery(kSeajust, step, 0);
  relay.onDelivery(kSeajust, step, 5);  // resent by its broker meanwhile: not news
  auto given = relay.take(kCasc, 5);
  ASSERT_EQ(given.size(), 1u);
  EXPECT_EQ(given[0].op, "step");
  relay.onReply(kCasc, answer(given[0]), 6);
  auto back = relay.take(kSeajust, 6);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].op, "stored");
  EXPECT_EQ(back[0].keys, std::vector<std::string>{"step/r1/3"});
}

TEST(RequestRelay, ARefusalIsCountedAndTheCarryDroppedWhileSilenceStartsItAgain) {
  RequestRelay relay;
  relay.onDelivery(kCasc, offer("r1"), 0);
  auto put = relay.take(kSeajust, 0);
  ASSERT_EQ(put.size(), 1u);
  relay.onReply(kSeajust, answer(put[0], false), 1);
  EXPECT_EQ(relay.counters().refused.at("peering closed"), 1u);
  EXPECT_EQ(relay.carrying(), 0u);
  EXPECT_TRUE(relay.take(kCasc, 1).empty());  // nothing let go: its broker offers it again

  // A carry that hears nothing starts again from its put; the late answer to the old one is ignored.
  relay.onDelivery(kCasc, offer("r2"), 100);
  auto first = relay.take(kSeajust, 100);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_TRUE(relay.take(kSeajust, 100 + RequestRelay::kStallMs).empty());
  auto again = relay.take(kSeajust, 101 + RequestRelay::kStallMs);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].op, "put");
  auto late = answer(first[0]);
  late.detail = "complete";
  relay.onReply(kSeajust, late, 102 + RequestRelay::kStallMs);
  EXPECT_TRUE(relay.take(kCasc, 102 + RequestRelay::kStallMs).empty());
  auto done = answer(again[0]);
  done.detail = "complete";
  relay.onReply(kSeajust, done, 103 + RequestRelay::kStallMs);
  auto stored = relay.take(kCasc, 103 + RequestRelay::kStallMs);
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].op, "stored");
}

TEST(RequestRelay, AnswersFromTheWrongBrokerOrForAnotherChunkMoveNothing) {
  RequestRelay relay;
  relay.onDelivery(kCasc, offer("r1"), 0);
  auto put = relay.take(kSeajust, 0);
  auto missing = answer(put[0]);
  missing.missing = {position(0, 0)};
  relay.onReply(kCasc, missing, 1);  // the put went to SEAJust's broker, not CASC's
  EXPECT_TRUE(relay.take(kCasc, 1).empty());
  relay.onReply(kSeajust, missing, 2);
  auto get = relay.take(kCasc, 2);
  ASSERT_EQ(get.size(), 1u);
  auto wrong = answer(get[0]);
  wrong.index = 7;  // not the chunk asked for
  wrong.data = Bytes{1};
  relay.onReply(kCasc, wrong, 3);
  EXPECT_TRUE(relay.take(kSeajust, 3).empty());
}

}  // namespace
}  // namespace liaison::site
