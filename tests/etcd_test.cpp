// The etcd client against a real etcd (Debian's etcd-server) on 127.0.0.1, and the leadership
// of two brokers through it: one leads; when it stops renewing (a paused or cut-off process) it
// has stopped leading before the other takes over.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "adapters/http.h"
#include "ha/etcd.h"
#include "tests/etcd_fixture.h"
#include "ha/leadership.h"
#include "tests/support.h"

namespace liaison {
namespace {

using namespace std::chrono_literals;
using testing::waitFor;

int64_t steadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class EtcdTest : public ::testing::Test {
 protected:
  testing::TempDir tmp;
  std::unique_ptr<testing::Process> etcd;
  std::string url;

  static void SetUpTestSuite() { ASSERT_TRUE(adapters::initHttp().ok()); }

  void SetUp() override {
    auto member = testing::startEtcd(tmp / "etcd", tmp / "etcd.log");
    ASSERT_TRUE(member.process) << testing::readText(tmp / "etcd.log");
    etcd = std::move(member.process);
    url = member.url;
  }

  std::unique_ptr<ha::EtcdClient> client(std::vector<std::string> endpoints = {}) {
    auto c = ha::EtcdClient::create(endpoints.empty() ? std::vector<std::string>{url} : endpoints);
    EXPECT_TRUE(c.ok());
    return std::move(c).value();
  }
};

TEST_F(EtcdTest, KeysLeasesAndGuardedWrites) {
  auto c = client();
  auto lease = c->grantLease(2s);
  ASSERT_TRUE(lease.ok()) << lease.error().message;
  auto created = c->createIfAbsent("/liaison/CASC/leader", "tcp://10.0.0.1:7402", *lease);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_TRUE(*created);
  std::optional<ha::EtcdValue> current;
  created = client()->createIfAbsent("/liaison/CASC/leader", "tcp://10.0.0.2:7402", 0, &current);
  ASSERT_TRUE(created.ok());
  EXPECT_FALSE(*created);
  ASSERT_TRUE(current.has_value());
  EXPECT_EQ(current->value, "tcp://10.0.0.1:7402");
  EXPECT_EQ(current->lease, *lease);
  // Written only while the guard holds.
  EXPECT_TRUE(*c->putIf("/liaison/CASC/leader", "tcp://10.0.0.1:7402", "/liaison/CASC/sync", "alone"));
  EXPECT_FALSE(*c->putIf("/liaison/CASC/leader", "tcp://10.0.0.2:7402", "/liaison/CASC/sync", "in sync"));
  EXPECT_EQ((*c->get("/liaison/CASC/sync"))->value, "alone");
  // Renewed, the key stays; not renewed, it goes with the lease.
  for (int i = 0; i < 6; ++i) {
    std::this_thread::sleep_for(500ms);
    auto left = c->keepAlive(*lease);
    ASSERT_TRUE(left.ok()) << left.error().message;
    EXPECT_GT(*left, 0);
  }
  EXPECT_TRUE((*c->get("/liaison/CASC/leader")).has_value());
  EXPECT_TRUE(waitFor([&] { return !(*c->get("/liaison/CASC/leader")).has_value(); }, 10s));
  EXPECT_EQ(*c->keepAlive(*lease), 0);  // gone
  EXPECT_TRUE(c->revokeLease(*lease).ok());
}

TEST_F(EtcdTest, ADeadEndpointIsSkippedAndNonEtcdAnswersAreErrors) {
  // The first member of the list is down: the next one answers.
  const std::string dead = "http://127.0.0.1:" + std::to_string(testing::freePort());
  auto c = client({dead, url});
  auto lease = c->grantLease(5s);
  ASSERT_TRUE(lease.ok()) << lease.error().message;
  // None answers: an error saying so, not a hang.
  auto none = client({dead});
  auto r = none->get("x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kUnavailable);
  // Something that is not etcd answers: an error, never a value.
  httplib::Server fake;
  fake.Post(".*", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("<html>proxy error</html>", "text/html");
  });
  const int port = fake.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { fake.listen_after_bind(); });
  auto wrong = client({"http://127.0.0.1:" + std::to_string(port)});
  auto answer = wrong->createIfAbsent("k", "v", 0);
  EXPECT_FALSE(answer.ok());
  EXPECT_FALSE(wrong->keepAlive(1).ok());
  fake.stop();
  serving.join();
  EXPECT_FALSE(ha::EtcdClient::create({"127.0.0.1:2379"}).ok());  // not a URL
}

TEST_F(EtcdTest, TwoBrokersOneLeadsAndAStoppedLeaderIsFencedBeforeTheOtherTakesOver) {
  auto toA = client(), toB = client();
  ha::Leadership a(*toA, {"/liaison/CASC/leader", "broker-a", 2s});
  ha::Leadership b(*toB, {"/liaison/CASC/leader", "broker-b", 2s});
  a.tick(steadyMs(), true);
  b.tick(steadyMs(), true);
  ASSERT_TRUE(a.leading(steadyMs())) << a.lastError();
  EXPECT_FALSE(b.leading(steadyMs()));
  EXPECT_EQ(b.leader(), "broker-a");
  for (int i = 0; i < 20; ++i) {  // 3 s of renewals
    std::this_thread::sleep_for(150ms);
    a.tick(steadyMs(), true);
    b.tick(steadyMs(), true);
    ASSERT_TRUE(a.leading(steadyMs()));
    ASSERT_FALSE(b.leading(steadyMs()));
  }
  // A stops renewing (paused): by the time B leads, A no longer considers itself the leader.
  const int64_t stoppedAt = steadyMs();
  int64_t bLeads = 0;
  while (steadyMs() - stoppedAt < 10'000 && bLeads == 0) {
    std::this_thread::sleep_for(100ms);
    b.tick(steadyMs(), true);
    if (b.leading(steadyMs())) bLeads = steadyMs();
  }
  ASSERT_NE(bLeads, 0) << b.lastError();
  EXPECT_FALSE(a.leading(bLeads));
  EXPECT_GE(bLeads - stoppedAt, 1'000);  // not before A's lease could pass
  // A wakes: it learns it lost and follows.
  a.tick(steadyMs(), true);
  EXPECT_FALSE(a.leading(steadyMs()));
  EXPECT_EQ(a.leader(), "broker-b");
}

}  // namespace
}  // namespace liaison
