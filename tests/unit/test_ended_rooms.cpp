// Lines of the ended-rooms file: what is written is read back, and a torn
// or hand-edited line is refused rather than misread.
#include "cmocka_cxx.h"

#include "ended_rooms.h"

#include <cstring>
#include <string>

using namespace webcall;

static ended_rooms::entry
sample(ended_rooms::reason why)
{
    ended_rooms::entry e{};
    for (size_t i = 0; i < sizeof(e.id); i++) {
        e.id[i] = (uint8_t) (i * 17 + 3);
    }
    e.until = 1796000000;
    e.why = why;
    return e;
}

static void
a_line_reads_back_as_written(void **)
{
    char   line[ended_rooms::line_max];
    ended_rooms::entry got{};

    for (auto why : {ended_rooms::reason::host, ended_rooms::reason::one_time}) {
        ended_rooms::entry e = sample(why);
        size_t n = ended_rooms::format(e, line, sizeof(line));
        assert_true(n > 0 && line[n - 1] == '\n');
        assert_true(ended_rooms::parse(std::string_view(line, n - 1), &got));
        assert_memory_equal(got.id, e.id, sizeof(e.id));
        assert_int_equal(got.until, e.until);
        assert_int_equal((int) got.why, (int) why);
    }

    ended_rooms::entry e = sample(ended_rooms::reason::host);
    size_t n = ended_rooms::format(e, line, sizeof(line));
    assert_string_equal(std::string(line, n).c_str(),
                        "031425364758697a8b9cadbecfe0f102 1796000000 host\n");
    assert_int_equal(ended_rooms::format(e, line, 10), 0);
}

static void
a_torn_or_edited_line_is_refused(void **)
{
    char   line[ended_rooms::line_max];
    ended_rooms::entry got{};
    ended_rooms::entry e = sample(ended_rooms::reason::one_time);
    size_t n = ended_rooms::format(e, line, sizeof(line)) - 1;
    std::string good(line, n);

    /* every cut of the line (a crash in the middle of a write) */
    for (size_t i = 0; i < n; i++) {
        assert_false(ended_rooms::parse(good.substr(0, i), &got));
    }
    for (const char *bad : {
             "",
             "0314253647586979 1796000000 host",
             "031425364758697a8b9cadbecfe0f1021 1796000000 host",
             "031425364758697A8B9CADBECFE0F102 1796000000 host",
             "031425364758697a8b9cadbecfe0f10g 1796000000 host",
             "031425364758697a8b9cadbecfe0f102  1796000000 host",
             "031425364758697a8b9cadbecfe0f102 -1 host",
             "031425364758697a8b9cadbecfe0f102 -000000 host",
             "031425364758697a8b9cadbecfe0f102 +1 host",
             "031425364758697a8b9cadbecfe0f102 01796000000 host",
             "031425364758697a8b9cadbecfe0f102 17960x0000 host",
             "031425364758697a8b9cadbecfe0f102 99999999999999999999999 host",
             "031425364758697a8b9cadbecfe0f102 1796000000 guest",
             "031425364758697a8b9cadbecfe0f102 1796000000 host ",
             "031425364758697a8b9cadbecfe0f102 1796000000",
             "031425364758697a8b9cadbecfe0f102 1796000000 host\r",
         })
    {
        assert_false(ended_rooms::parse(bad, &got));
    }
    assert_true(ended_rooms::parse(good, &got));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_line_reads_back_as_written),
        cmocka_unit_test(a_torn_or_edited_line_is_refused),
    };

    return cmocka_run_group_tests_name("ended_rooms", tests, NULL, NULL);
}
