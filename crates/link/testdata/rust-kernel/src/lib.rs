//! Reads the current task's pid, tgid, parent's tgid and comm through
//! btfkit CO-RE queries on a local `task_struct` whose layout is nothing like
//! the kernel's; libbpf relocates them when it loads the linked object.
#![no_std]

#[used]
#[link_section = ".btfkit.types"]
static TASK_STRUCT: [u8; 113] = *b"BTFKIT1 struct task_struct{pid:i4;tgid:i4;real_parent:*struct task_struct;comm:[i1;16];btfkit_no_such_field:u8;}\n";

extern "C" {
    #[link_name = "btfkit:v1:byte_off:task_struct:pid"]
    fn pid_off() -> usize;
    #[link_name = "btfkit:v1:byte_off:task_struct:tgid"]
    fn tgid_off() -> usize;
    #[link_name = "btfkit:v1:byte_off:task_struct:real_parent"]
    fn parent_off() -> usize;
    #[link_name = "btfkit:v1:byte_off:task_struct:real_parent->tgid"]
    fn parent_tgid_off() -> usize;
    #[link_name = "btfkit:v1:byte_sz:task_struct:comm"]
    fn comm_size() -> usize;
    #[link_name = "btfkit:v1:field_exists:task_struct:btfkit_no_such_field"]
    fn missing_exists() -> usize;
    #[link_name = "btfkit:v1:type_size:task_struct:"]
    fn task_size() -> usize;
}

#[no_mangle]
static mut RESULTS: [u64; 8] = [0; 8];

#[inline(always)]
fn current_task() -> *const u8 {
    // SAFETY: helper 35 (bpf_get_current_task) takes no arguments.
    let f: unsafe extern "C" fn() -> u64 = unsafe { core::mem::transmute(35usize) };
    unsafe { f() as *const u8 }
}

#[inline(always)]
unsafe fn read<T>(src: *const u8) -> T {
    let mut out = core::mem::MaybeUninit::<T>::uninit();
    // SAFETY: helper 113 (bpf_probe_read_kernel) checks the source and
    // zeroes the destination on failure.
    let f: unsafe extern "C" fn(*mut u8, u32, *const u8) -> i64 = core::mem::transmute(113usize);
    f(out.as_mut_ptr().cast(), core::mem::size_of::<T>() as u32, src);
    out.assume_init()
}

#[inline(always)]
fn store(slot: usize, value: u64) {
    // SAFETY: the program writes its own global array.
    unsafe {
        core::ptr::write_volatile(
            core::ptr::addr_of_mut!(RESULTS).cast::<u64>().add(slot),
            value,
        )
    }
}

#[no_mangle]
#[link_section = "raw_tp/sys_enter"]
pub extern "C" fn read_task(_ctx: *mut u8) -> i32 {
    let t = current_task();
    // SAFETY: kernel reads go through the helper; markers become movs.
    unsafe {
        store(0, read::<i32>(t.add(pid_off())) as u64);
        store(1, read::<i32>(t.add(tgid_off())) as u64);
        let parent: *const u8 = read(t.add(parent_off()));
        store(2, read::<i32>(parent.add(parent_tgid_off())) as u64);
        store(3, comm_size() as u64);
        store(4, missing_exists() as u64);
        store(5, pid_off() as u64);
        store(6, task_size() as u64);
    }
    0
}

#[no_mangle]
#[link_section = "license"]
pub static LICENSE: [u8; 4] = *b"GPL\0";

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}
