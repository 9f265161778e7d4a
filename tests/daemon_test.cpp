// What every daemon shares (common/daemon.h): giving memory back after a burst.
#include "common/daemon.h"

#include <gtest/gtest.h>

namespace liaison {
namespace {

TEST(MemoryGiveBack, OnceAfterEachBurstWhenTheWorkHasBeenQuietLongEnough) {
  MemoryGiveBack giveBack(1000);
  giveBack.note(0, 0);
  giveBack.note(0, 5000);
  EXPECT_EQ(giveBack.trims(), 0u) << "no work yet: nothing to give back";
  giveBack.note(100, 6000);  // a burst
  giveBack.note(200, 6500);
  giveBack.note(200, 7400);
  EXPECT_EQ(giveBack.trims(), 0u) << "not quiet for a second yet";
  giveBack.note(200, 7500);
  EXPECT_EQ(giveBack.trims(), 1u);
  giveBack.note(200, 9000);
  giveBack.note(200, 60000);
  EXPECT_EQ(giveBack.trims(), 1u) << "once per burst, not once per tick";
  giveBack.note(201, 60100);  // the next burst
  giveBack.note(201, 61100);
  EXPECT_EQ(giveBack.trims(), 2u);
}

}  // namespace
}  // namespace liaison
