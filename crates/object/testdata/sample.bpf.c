// Test object for btfkit-object: several programs per section, a static
// subprogram, a global function, maps, data sections and CO-RE relocations.
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct {
	int pid;
	int tgid;
	struct task_struct *real_parent;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

int global_counter = 7;
const volatile int config_value = 42;
__u64 zeroed[4];
char extra_bytes[8] SEC(".data.extra") = "extra";

static __attribute__((noinline)) int add_one(int x)
{
	return x + zeroed[x & 3] + 1;
}

__attribute__((noinline)) int global_helper(int y)
{
	return y * config_value;
}

SEC("raw_tp/sys_enter")
int first_prog(void *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	int ppid = BPF_CORE_READ(t, real_parent, tgid);
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&counters, &key);
	if (v)
		*v += add_one(ppid) + global_counter + extra_bytes[1];
	return 0;
}

SEC("raw_tp/sys_enter")
int second_prog(void *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	return add_one(BPF_CORE_READ(t, pid)) + global_helper(3);
}

SEC("socket")
int third_prog(void *ctx)
{
	return bpf_core_field_exists(((struct task_struct *)0)->tgid);
}

char LICENSE[] SEC("license") = "GPL";
