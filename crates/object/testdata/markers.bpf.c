// Test object for btfkit-object rewriting: mimics what the btfkit link step
// edits. A query marker is a call of an undefined function (call -1 with an
// R_BPF_64_32 relocation); type descriptors live in `.btfkit.types`.
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern unsigned long btfkit_marker_size(void);
extern unsigned long btfkit_marker_off(void);

__attribute__((used)) static const char descriptor_a[] SEC(".btfkit.types") =
	"BTFKIT1 struct task_struct{pid:i32;}\n";
__attribute__((used)) static const char descriptor_b[] SEC(".btfkit.types") =
	"BTFKIT1 struct other{x:u64;}\n";

int answer = 0;

SEC("raw_tp/sys_enter")
int marker_prog(void *ctx)
{
	answer = btfkit_marker_size() + btfkit_marker_off();
	return 0;
}

SEC("raw_tp/sys_enter")
int plain_prog(void *ctx)
{
	return answer;
}

char LICENSE[] SEC("license") = "GPL";
