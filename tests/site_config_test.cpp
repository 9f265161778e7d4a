// A site's configuration: [broker] with one broker (endpoint, key) or a broker pair (endpoints,
// keys), as site.toml holds it and as `liaison init` writes it.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/clock.h"
#include "directory/site.h"
#include "schemas/json.h"
#include "tests/support.h"
#include "trust/keys.h"
#include "trust/verify.h"

namespace liaison {
namespace {

using directory::BrokerAddress;
using directory::parseSiteConfig;

const std::string kSite = "[site]\nid = \"kg-bishkek\"\nnetwork = \"CASC\"\n";

Result<directory::SiteConfig> parse(const std::string& broker) {
  return parseSiteConfig("/sites/kg", "/sites/kg/site.toml", kSite + "[broker]\n" + broker);
}

TEST(SiteConfig, TheSingleFormStillLoads) {
  auto c = parse("endpoint = \"tcp://broker:7400\"\nkey = \"broker.pub\"\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->brokers.size(), 1u);
  EXPECT_TRUE(c->brokers[0] == (BrokerAddress{"tcp://broker:7400", "/sites/kg/broker.pub"}));
  EXPECT_TRUE(c->networked());
  EXPECT_EQ(c->brokerList(), "tcp://broker:7400");
}

TEST(SiteConfig, AStandaloneSiteHasNoBroker) {
  for (const std::string broker : {"endpoint = \"\"\nkey = \"\"\n", "", "key = \"broker.pub\"\n"}) {
    auto c = parse(broker);
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_TRUE(c->brokers.empty()) << broker;
    EXPECT_FALSE(c->networked());
  }
  auto c = parseSiteConfig("/sites/kg", "/sites/kg/site.toml", kSite);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->networked());
}

TEST(SiteConfig, APairSharesOneKeyOrHasOneEach) {
  auto shared = parse("endpoints = [\"tcp://a:7400\", \"tcp://b:7400\"]\nkeys = [\"broker.pub\"]\n");
  ASSERT_TRUE(shared.ok()) << shared.error().message;
  EXPECT_EQ(shared->brokers, (std::vector<BrokerAddress>{{"tcp://a:7400", "/sites/kg/broker.pub"},
                                                         {"tcp://b:7400", "/sites/kg/broker.pub"}}));
  EXPECT_EQ(shared->brokerList(), "tcp://a:7400, tcp://b:7400");
  // `key` for the one key of a pair is as good as a list of one.
  auto single = parse("endpoints = [\"tcp://a:7400\", \"tcp://b:7400\"]\nkey = \"broker.pub\"\n");
  ASSERT_TRUE(single.ok()) << single.error().message;
  EXPECT_EQ(single->brokers, shared->brokers);
  auto each = parse("endpoints = [\"tcp://a:7400\", \"tcp://b:7400\"]\nkeys = [\"a.pub\", \"/etc/liaison/b.pub\"]\n");
  ASSERT_TRUE(each.ok()) << each.error().message;
  EXPECT_EQ(each->brokers, (std::vector<BrokerAddress>{{"tcp://a:7400", "/sites/kg/a.pub"},
                                                       {"tcp://b:7400", "/etc/liaison/b.pub"}}));
}

TEST(SiteConfig, ABrokerTableThatDoesNotPairUpIsAnErrorNamingTheFile) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"endpoints = [\"tcp://a:7400\", \"tcp://b:7400\"]\nkeys = [\"a.pub\", \"b.pub\", \"c.pub\"]\n",
       "[broker] has 3 keys for 2 endpoints"},
      {"endpoints = [\"tcp://a:7400\", \"tcp://b:7400\"]\n", "[broker] has no key"},
      {"endpoint = \"tcp://a:7400\"\n", "[broker] has no key"},
      {"endpoint = \"tcp://a:7400\"\nendpoints = [\"tcp://b:7400\"]\nkey = \"k.pub\"\n",
       "[broker] has both endpoint and endpoints"},
      {"endpoints = \"tcp://a:7400\"\nkey = \"k.pub\"\n", "[broker] endpoints must be a list of strings"},
      {"endpoints = [\"tcp://a:7400\", 7400]\nkey = \"k.pub\"\n", "[broker] endpoints must be a list of non-empty"},
      {"endpoints = [\"tcp://a:7400\", \"tcp://a:7400\"]\nkey = \"k.pub\"\n", "[broker] names tcp://a:7400 twice"},
      {"endpoint = 7400\nkey = \"k.pub\"\n", "[broker] endpoint must be a string"},
  };
  for (const auto& [text, message] : bad) {
    auto c = parse(text);
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_EQ(c.error().code, Errc::kInvalidInput);
    EXPECT_TRUE(c.error().message.starts_with("/sites/kg/site.toml: ")) << c.error().message;
    EXPECT_NE(c.error().message.find(message), std::string::npos) << c.error().message;
  }
}

// initSite writes what loadSiteConfig reads: one broker as before, a pair as lists.
class InitSiteTest : public ::testing::Test {
 protected:
  testing::TempDir tmp;
  trust::KeyPair root = trust::generateKeyPair();
  trust::KeyPair kg = trust::generateKeyPair();
  int64_t now = SystemClock().nowSeconds();

  void SetUp() override {
    ASSERT_TRUE(trust::writeKeyFiles(tmp / "root", root).ok());
    ASSERT_TRUE(trust::writeKeyFiles(tmp / "kg", kg).ok());
    ASSERT_TRUE(trust::writeKeyFiles(tmp / "a", trust::generateKeyPair()).ok());
    ASSERT_TRUE(trust::writeKeyFiles(tmp / "b", trust::generateKeyPair()).ok());
    auto cert = testing::certFor("kg-bishkek", kg, {"KG"}, "authority", now - 86400, now + 400 * 86400);
    testing::writeText(tmp / "kg.member", json::armor(trust::sign(trust::memberItem(cert), "root", root)));
  }

  directory::InitOptions options(const std::string& dir, std::vector<std::string> brokers,
                                 std::vector<std::string> keys) {
    return directory::InitOptions{tmp / dir, "kg-bishkek", tmp / "root.pub", tmp / "kg.key", tmp / "kg.member",
                                  std::move(brokers), std::move(keys), "127.0.0.1:0"};
  }
};

TEST_F(InitSiteTest, OneBrokerIsWrittenAsBefore) {
  ASSERT_TRUE(directory::initSite(options("one", {"tcp://a:7400"}, {tmp / "a.pub"}), now).ok());
  const std::string toml = testing::readText(tmp / "one/site.toml");
  EXPECT_NE(toml.find("[broker]\nendpoint = \"tcp://a:7400\"\nkey = \"broker.pub\"\n"), std::string::npos) << toml;
  auto c = directory::loadSiteConfig(tmp / "one");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->brokers, (std::vector<BrokerAddress>{{"tcp://a:7400", tmp / "one/broker.pub"}}));
  EXPECT_EQ(testing::readText(tmp / "one/broker.pub"), testing::readText(tmp / "a.pub"));
}

TEST_F(InitSiteTest, APairWithOneKeyOrAKeyEach) {
  ASSERT_TRUE(directory::initSite(options("shared", {"tcp://a:7400", "tcp://b:7400"}, {tmp / "a.pub"}), now).ok());
  auto shared = directory::loadSiteConfig(tmp / "shared");
  ASSERT_TRUE(shared.ok()) << shared.error().message;
  EXPECT_EQ(shared->brokers, (std::vector<BrokerAddress>{{"tcp://a:7400", tmp / "shared/broker.pub"},
                                                         {"tcp://b:7400", tmp / "shared/broker.pub"}}));

  ASSERT_TRUE(directory::initSite(
                  options("each", {"tcp://a:7400", "tcp://b:7400"}, {tmp / "a.pub", tmp / "b.pub"}), now)
                  .ok());
  auto each = directory::loadSiteConfig(tmp / "each");
  ASSERT_TRUE(each.ok()) << each.error().message;
  EXPECT_EQ(each->brokers, (std::vector<BrokerAddress>{{"tcp://a:7400", tmp / "each/broker-1.pub"},
                                                       {"tcp://b:7400", tmp / "each/broker-2.pub"}}));
  EXPECT_EQ(testing::readText(tmp / "each/broker-1.pub"), testing::readText(tmp / "a.pub"));
  EXPECT_EQ(testing::readText(tmp / "each/broker-2.pub"), testing::readText(tmp / "b.pub"));
}

TEST_F(InitSiteTest, BrokersAndKeysThatDoNotPairUpAreRefusedAndNothingIsWritten) {
  struct Bad {
    std::vector<std::string> brokers, keys;
    std::string message;
  };
  const std::vector<Bad> bad = {
      {{"tcp://a:7400", "tcp://b:7400"},
       {tmp / "a.pub", tmp / "b.pub", tmp / "a.pub"},
       "--broker-key is given 3 times for 2 --broker: give it once (the brokers share a key pair) or once per "
       "--broker, in the same order"},
      {{"tcp://a:7400", "tcp://b:7400", "tcp://c:7400"}, {tmp / "a.pub", tmp / "b.pub"}, "given 2 times for 3"},
      {{"tcp://a:7400"}, {}, "--broker needs --broker-key"},
      {{}, {tmp / "a.pub"}, "--broker-key needs --broker"},
      {{"tcp://a:7400", "tcp://a:7400"}, {tmp / "a.pub"}, "--broker tcp://a:7400 is given twice"},
      {{"tcp://a:7400", ""}, {tmp / "a.pub"}, "--broker: an empty address"},
      {{"tcp://a:7400", "tcp://b:7400"}, {tmp / "a.pub", tmp / "missing.pub"}, "missing.pub"},
  };
  for (const auto& b : bad) {
    auto st = directory::initSite(options("bad", b.brokers, b.keys), now);
    ASSERT_FALSE(st.ok()) << b.message;
    EXPECT_NE(st.error().message.find(b.message), std::string::npos) << st.error().message;
    EXPECT_FALSE(std::filesystem::exists(tmp / "bad/site.toml"));
  }
}

}  // namespace
}  // namespace liaison
