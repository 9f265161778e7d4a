// The Interpol adapter's pure decisions: what to do with the gateway's answer, and how a page of
// the notices API is read.
#include <gtest/gtest.h>

#include "adapters/http.h"
#include "adapters/notices.h"

namespace liaison {
namespace {

using adapters::HttpAnswer;
using adapters::HttpError;
using adapters::HttpFailure;
using adapters::Verdict;

adapters::InterpolOptions options() {
  adapters::InterpolOptions o;
  o.firstRetryMs = 1000;
  o.maxRetryMs = 8000;
  return o;
}

HttpAnswer answer(long status, std::string body = {}, std::optional<int64_t> retryAfter = {}) {
  HttpAnswer a;
  a.status = status;
  a.body = std::move(body);
  a.retryAfterSeconds = retryAfter;
  return a;
}

TEST(InterpolJudge, SuccessCarriesTheGatewaysReference) {
  std::mt19937_64 rng(1);
  auto v = adapters::judge(answer(201, R"({"reference": "NCB/2026/77"})"), 1, options(), rng);
  EXPECT_EQ(v.kind, Verdict::kAccepted);
  EXPECT_EQ(v.reference, "NCB/2026/77");
  EXPECT_EQ(adapters::judge(answer(200, "<html>ok</html>"), 1, options(), rng).kind, Verdict::kAccepted);
}

TEST(InterpolJudge, TransientFailuresAreRetriedWithGrowingJitteredDelays) {
  std::mt19937_64 rng(1);
  for (long status : {500L, 502L, 503L, 504L, 408L}) {
    auto v = adapters::judge(answer(status), 1, options(), rng);
    EXPECT_EQ(v.kind, Verdict::kRetry) << status;
  }
  for (uint32_t attempt = 1; attempt <= 6; ++attempt) {
    auto v = adapters::judge(HttpError{HttpFailure::kTimeout, "timed out"}, attempt, options(), rng);
    int64_t full = std::min<int64_t>(8000, 1000LL << (attempt - 1));
    EXPECT_EQ(v.kind, Verdict::kRetry);
    EXPECT_GE(v.delayMs, full / 2) << attempt;
    EXPECT_LE(v.delayMs, full) << attempt;
  }
  EXPECT_EQ(adapters::judge(HttpError{HttpFailure::kConnect, "refused"}, 1, options(), rng).kind, Verdict::kRetry);
}

TEST(InterpolJudge, RetryAfterIsHonouredAndCapped) {
  std::mt19937_64 rng(1);
  EXPECT_EQ(adapters::judge(answer(429, "", 3), 1, options(), rng).delayMs, 3000);
  EXPECT_EQ(adapters::judge(answer(429, "", 3600), 1, options(), rng).delayMs, 8000);
}

TEST(InterpolJudge, OtherClientErrorsAreDeclinedWithTheReason) {
  std::mt19937_64 rng(1);
  for (long status : {400L, 401L, 403L, 404L, 409L, 422L}) {
    auto v = adapters::judge(answer(status, "{\"error\":\"no\"}"), 1, options(), rng);
    EXPECT_EQ(v.kind, Verdict::kDeclined) << status;
    EXPECT_NE(v.reason.find("HTTP " + std::to_string(status)), std::string::npos);
  }
  // A reason built from what a server sent is one printable line.
  auto v = adapters::judge(answer(400, "line one\nline two\x01"), 1, options(), rng);
  EXPECT_EQ(v.reason.find('\n'), std::string::npos);
}

TEST(NoticePage, ReadsNoticesAndTheNextLinkAndSkipsBadOnes) {
  auto page = adapters::parseNoticePage(R"({"total": 4,
    "_embedded": {"notices": [
      {"entity_id": "2026/101", "forename": "Aida", "name": "Bekova", "date_of_birth": "1990/01/02",
       "nationalities": ["KG", "XX", 7], "_links": {"self": {"href": "https://example/2026-101"}}},
      {"entity_id": "2026/102", "forename": null, "name": "Osmonov"},
      {"entity_id": "../../etc", "name": "Bad id"},
      {"entity_id": "2026/104", "name": 42},
      "not an object"]},
    "_links": {"next": {"href": "https://example/notices/v1/yellow?page=2"}}})");
  ASSERT_TRUE(page.ok()) << page.error().message;
  ASSERT_EQ(page->notices.size(), 2u);
  EXPECT_EQ(page->notices[0].entityId, "2026/101");
  EXPECT_EQ(page->notices[0].nationalities, std::vector<std::string>{"KG"});
  EXPECT_EQ(page->notices[0].link, "https://example/2026-101");
  EXPECT_EQ(page->notices[1].forename, "");
  EXPECT_EQ(page->skipped, 3u);
  EXPECT_EQ(page->total, 4);
  EXPECT_EQ(page->next, "https://example/notices/v1/yellow?page=2");
  EXPECT_EQ(adapters::noticeRecordId("yellow", "2026/101"), "notice-yellow-2026-101");
}

TEST(NoticePage, AWrongShapeIsAnError) {
  for (const char* body : {"", "<html></html>", "[]", "{\"total\": 1}", "{\"_embedded\": {\"notices\": {}}}",
                           "{\"_embedded\": {\"notices\": [{\"entity_id\": \"2026/1\""}) {
    EXPECT_FALSE(adapters::parseNoticePage(body).ok()) << body;
  }
}

TEST(NoticesPage, ANextLinkIsResolvedAgainstThePageThatHeldIt) {
  const std::string page = "https://ws-public.interpol.int/notices/v1/yellow?nationality=KG&page=1";
  auto at = [&](const std::string& ref) {
    auto r = adapters::resolveUrl(page, ref);
    return r ? *r : "error: " + r.error().message;
  };
  EXPECT_EQ(at("https://ws-public.interpol.int/notices/v1/yellow?page=2"),
            "https://ws-public.interpol.int/notices/v1/yellow?page=2");
  EXPECT_EQ(at("/notices/v1/yellow?nationality=KG&page=2"),
            "https://ws-public.interpol.int/notices/v1/yellow?nationality=KG&page=2");
  EXPECT_EQ(at("?nationality=KG&page=3"), "https://ws-public.interpol.int/notices/v1/yellow?nationality=KG&page=3");
  EXPECT_EQ(at("red?page=2"), "https://ws-public.interpol.int/notices/v1/red?page=2");
  EXPECT_EQ(at("../v2/yellow?page=2"), "https://ws-public.interpol.int/notices/v2/yellow?page=2");
  EXPECT_EQ(at("//other.example/notices?page=2"), "https://other.example/notices?page=2");
  EXPECT_FALSE(adapters::resolveUrl("not a url", "?page=2"));
}

}  // namespace
}  // namespace liaison
