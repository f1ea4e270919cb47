package sim

// Package is a VirtFusion server package the simulator offers.
type Package struct {
	ID        int
	Name      string
	MemoryMB  int
	StorageGB int
	TrafficGB int // 0 = unmetered
	CPUCores  int
	Enabled   bool
}

// Group is a hypervisor group; creates name it as "hypervisorId".
type Group struct {
	ID          int
	Name        string
	Hypervisors []Hypervisor
}

// Hypervisor is one host in a group with finite resources that creates consume and deletes free.
type Hypervisor struct {
	ID         int
	Name       string
	MemoryMB   int
	StorageGB  int
	CPUCores   int // reported, not enforced (VirtFusion overcommits CPU)
	MaxServers int // 0 = unlimited
}

// Template is an operating system template a build can install.
type Template struct {
	ID   int
	Name string
}

// Seed ids that dev mode and tests can rely on when Options leave the seed data empty.
const (
	SeedGroupID    = 1 // "Default" group: hypervisors 1 (8 GB, 160 GB) and 2 (4 GB, 80 GB)
	SeedPackageID  = 1 // "VPS 1G": 1024 MB, 20 GB, 1 core
	SeedTemplateID = 1 // Debian 12
	DefaultToken   = "virtfusion-sim-token"
)

// DefaultPackages are the seeded packages: 1 GB, 2 GB and 4 GB plans, and a disabled one.
func DefaultPackages() []Package {
	return []Package{
		{ID: 1, Name: "VPS 1G", MemoryMB: 1024, StorageGB: 20, TrafficGB: 1000, CPUCores: 1, Enabled: true},
		{ID: 2, Name: "VPS 2G", MemoryMB: 2048, StorageGB: 40, TrafficGB: 2000, CPUCores: 2, Enabled: true},
		{ID: 3, Name: "VPS 4G", MemoryMB: 4096, StorageGB: 80, TrafficGB: 4000, CPUCores: 4, Enabled: true},
		{ID: 4, Name: "VPS Legacy", MemoryMB: 512, StorageGB: 10, TrafficGB: 500, CPUCores: 1, Enabled: false},
	}
}

// DefaultGroups is the seeded "Default" group with two small hypervisors, so capacity runs out
// after a handful of servers (12 GB of memory and 240 GB of disk in all).
func DefaultGroups() []Group {
	return []Group{{ID: SeedGroupID, Name: "Default", Hypervisors: []Hypervisor{
		{ID: 1, Name: "hv1.sim", MemoryMB: 8192, StorageGB: 160, CPUCores: 16},
		{ID: 2, Name: "hv2.sim", MemoryMB: 4096, StorageGB: 80, CPUCores: 8},
	}}}
}

// DefaultTemplates are the seeded operating system templates.
func DefaultTemplates() []Template {
	return []Template{{ID: 1, Name: "Debian 12"}, {ID: 2, Name: "Ubuntu 24.04"}, {ID: 3, Name: "AlmaLinux 9"}}
}
