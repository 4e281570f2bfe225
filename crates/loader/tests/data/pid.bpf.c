// Loader test program: records the caller's pid when the target task runs.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u32 target_tgid = 0;
__u32 seen_tgid = 0;
__u64 hits = 0;

SEC("raw_tp/sys_enter")
int on_sys_enter(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	if ((__u32)(id >> 32) != target_tgid)
		return 0;
	seen_tgid = id >> 32;
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
