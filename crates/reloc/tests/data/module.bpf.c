// Relocated against a module's split BTF: module types and base types.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct bpf_testmod_struct_arg_2 {
	long b;
} __attribute__((preserve_access_index));

struct task_struct {
	int x;
} __attribute__((preserve_access_index));

__u64 out[4];

SEC("raw_tp/sys_enter")
int module_types(void *ctx)
{
	struct bpf_testmod_struct_arg_2 *p = (void *)bpf_get_current_task();
	out[0] = bpf_core_field_offset(p->b);
	out[1] = bpf_core_type_size(struct task_struct);
	out[2] = bpf_core_type_id_kernel(struct bpf_testmod_struct_arg_2);
	out[3] = bpf_core_type_id_kernel(struct task_struct);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
