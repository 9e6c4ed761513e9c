# nginx's make rules compile .cpp with $(CC) and the C flags; give each of our
# objects the C++ dialect. Objects land in objs/addon/<dir>/<file>.o.
# -fno-exceptions -fno-rtti make nginx's rules the compiler's: throw, try
# and catch do not compile, so no exception of ours can unwind through an
# nginx frame (docs/architecture.md, "Build").

for webcall_src in $WEBCALL_CXX_SRCS; do
    webcall_dir=`dirname $webcall_src`
    webcall_obj="$NGX_OBJS/addon/`basename $webcall_dir`/`basename $webcall_src .cpp`.$ngx_objext"
    cat << END                                            >> $NGX_MAKEFILE

$webcall_obj: CFLAGS += -std=c++17 -fvisibility=hidden -fno-exceptions -fno-rtti

END
done
