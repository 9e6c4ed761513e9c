// Unit tests for prom_text: the Prometheus text exposition webcall_metrics
// writes (families, labels and their escaping, histograms, a buffer too
// small). promtool checks the real output in tests/integration/metrics.
#include "prom_text.h"

#include "cmocka_cxx.h"

#include <cstring>
#include <string>

using namespace webcall::prom;

namespace {

std::string text(char* buf, size_t n)
{
    return std::string(buf, n);
}

void counter_family_has_help_type_and_labelled_samples(void**)
{
    char buf[512];
    writer w(buf, sizeof(buf));
    w.family("webcall_joins_total", kind::counter, "Participants seated.");
    w.sample("webcall_joins_total", {{"zone", "webcall"}, {"kind", "new"}},
             uint64_t{3});
    w.sample("webcall_joins_total", {}, uint64_t{18446744073709551615ull});
    size_t n = w.finish();
    assert_true(n > 0);
    assert_true(text(buf, n) ==
                "# HELP webcall_joins_total Participants seated.\n"
                "# TYPE webcall_joins_total counter\n"
                "webcall_joins_total{zone=\"webcall\",kind=\"new\"} 3\n"
                "webcall_joins_total 18446744073709551615\n");
}

void label_values_escape_backslash_quote_and_newline(void**)
{
    char buf[256];
    writer w(buf, sizeof(buf));
    w.sample("m", {{"l", "a\\b\"c\nd"}}, uint64_t{1});
    size_t n = w.finish();
    assert_true(text(buf, n) == "m{l=\"a\\\\b\\\"c\\nd\"} 1\n");
}

void help_text_escapes_newline(void**)
{
    char buf[256];
    writer w(buf, sizeof(buf));
    w.family("g", kind::gauge, "two\nlines");
    size_t n = w.finish();
    assert_true(text(buf, n) == "# HELP g two\\nlines\n# TYPE g gauge\n");
}

void histogram_buckets_are_cumulative_with_sum_and_count(void**)
{
    static const double bounds[] = {0.5, 1, 2.5};
    const buckets b{bounds, 3};
    const uint64_t counts[] = {1, 0, 2, 4};   // last: above 2.5
    char buf[1024];
    writer w(buf, sizeof(buf));
    w.family("h_seconds", kind::histogram, "A histogram.");
    w.histogram("h_seconds", {{"path", "direct"}}, b, counts, 12.25);
    size_t n = w.finish();
    assert_true(text(buf, n) ==
                "# HELP h_seconds A histogram.\n"
                "# TYPE h_seconds histogram\n"
                "h_seconds_bucket{path=\"direct\",le=\"0.5\"} 1\n"
                "h_seconds_bucket{path=\"direct\",le=\"1\"} 1\n"
                "h_seconds_bucket{path=\"direct\",le=\"2.5\"} 3\n"
                "h_seconds_bucket{path=\"direct\",le=\"+Inf\"} 7\n"
                "h_seconds_sum{path=\"direct\"} 12.25\n"
                "h_seconds_count{path=\"direct\"} 7\n");
}

void bucket_of_finds_the_first_bound_not_below_the_value(void**)
{
    static const double bounds[] = {0.5, 1, 2.5};
    const buckets b{bounds, 3};
    assert_int_equal(bucket_of(b, 0), 0);
    assert_int_equal(bucket_of(b, 0.5), 0);
    assert_int_equal(bucket_of(b, 0.51), 1);
    assert_int_equal(bucket_of(b, 2.5), 2);
    assert_int_equal(bucket_of(b, 2.6), 3);
    assert_int_equal(bucket_of(b, 1e300), 3);
}

void too_small_a_buffer_finishes_with_zero_and_never_overruns(void**)
{
    char buf[64];
    std::memset(buf, 'x', sizeof(buf));
    writer w(buf, 20);
    w.family("webcall_rooms_created_total", kind::counter, "Rooms created.");
    w.sample("webcall_rooms_created_total", {}, uint64_t{1});
    assert_true(w.overflowed());
    assert_int_equal(w.finish(), 0);
    for (size_t i = 20; i < sizeof(buf); ++i)
        assert_int_equal(buf[i], 'x');
}

void double_samples_use_prometheus_spellings(void**)
{
    char buf[256];
    writer w(buf, sizeof(buf));
    w.sample("a", {}, 0.25);
    w.sample("b", {}, 1.0 / 0.0);
    size_t n = w.finish();
    assert_true(text(buf, n) == "a 0.25\nb +Inf\n");
}

}  // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counter_family_has_help_type_and_labelled_samples),
        cmocka_unit_test(label_values_escape_backslash_quote_and_newline),
        cmocka_unit_test(help_text_escapes_newline),
        cmocka_unit_test(histogram_buckets_are_cumulative_with_sum_and_count),
        cmocka_unit_test(bucket_of_finds_the_first_bound_not_below_the_value),
        cmocka_unit_test(too_small_a_buffer_finishes_with_zero_and_never_overruns),
        cmocka_unit_test(double_samples_use_prometheus_spellings),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
