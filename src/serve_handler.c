/* The one piece of C in prise: the frames that call the handler of prise_serve_threads
 * and prise_serve_fork. A handler may end its thread with pthread_exit (course code does),
 * which unwinds the stack by force; Rust leaves a forced unwind over Rust frames
 * undefined, so every frame between the thread's start and the handler is C, and the
 * connection is released by a cleanup handler, which runs whether the handler returns or
 * exits. Declared on the Rust side in src/serve.rs (struct ServedCall). */
#include <pthread.h>

struct prise_served_call {
    int (*handler)(int conn, void *ctx);
    void *ctx;
    int conn;
    /* Runs once the handler is done, returned or exited; gets this structure. */
    void (*release)(void *call);
};

/* prise_serve_threads' thread: the handler, then release (which closes the connection). */
void *prise__serve_thread(void *arg)
{
    struct prise_served_call *call = arg;
    pthread_cleanup_push(call->release, call);
    call->handler(call->conn, call->ctx);
    pthread_cleanup_pop(1);
    return NULL;
}

/* prise_serve_fork's child: the handler's status when it returns; release (which ends the
 * child) when it exits its thread instead. */
int prise__serve_child(struct prise_served_call *call)
{
    int status;
    pthread_cleanup_push(call->release, call);
    status = call->handler(call->conn, call->ctx);
    pthread_cleanup_pop(0);
    return status;
}
