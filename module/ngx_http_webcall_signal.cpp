/*
 * webcall: the WebSocket signaling endpoint (webcall_signal). Not built yet:
 * it answers 501 so a client can tell "not available" from "no such room".
 */

#include "ngx_http_webcall_module.h"


ngx_int_t
ngx_http_webcall_signal_handler(ngx_http_request_t *r) noexcept
{
    return NGX_HTTP_NOT_IMPLEMENTED;
}
