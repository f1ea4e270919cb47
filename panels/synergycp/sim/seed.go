package sim

// The seeded catalog, so dev mode can sell and provision servers out of the box. Billing ids are
// what products map to: Package.PlanID = a memory billing id, Options "cpu_billing",
// "disks_billing" (comma-separated), "ips_billing", "pxe_profile", "port_speed_billing".
//
//	servers 101-103  CPU-E3-1230 (4 cores)     RAM-32GB  SSD-480GB          location LOC-DAL
//	servers 104-105  CPU-2xE5-2620 (16 cores)  RAM-64GB  HDD-2TB, HDD-2TB   location LOC-DAL
//	PXE profiles     format-quick (pre-install), os-ubuntu-2404, os-debian-12, os-almalinux-9
//	IP blocks        IP-29 (/29), IP-30 (/30)
//	port speeds      speed-1000, speed-10000

// part is a hardware part as SynergyCP bills it.
type part struct {
	id        int
	name      string
	billingID string
	cores     int // CPUs
	sizeMB    int // memory
	sizeGB    int // disks
}

// seedParts is the hardware catalog; the inventory query validates billing ids against it.
func seedParts() []part {
	return []part{
		{id: 1, name: "Intel Xeon E3-1230 v6", billingID: "CPU-E3-1230", cores: 4},
		{id: 2, name: "2x Intel Xeon E5-2620 v4", billingID: "CPU-2xE5-2620", cores: 16},
		{id: 3, name: "32GB DDR4", billingID: "RAM-32GB", sizeMB: 32768},
		{id: 4, name: "64GB DDR4", billingID: "RAM-64GB", sizeMB: 65536},
		{id: 5, name: "480GB SSD", billingID: "SSD-480GB", sizeGB: 480},
		{id: 6, name: "2TB HDD", billingID: "HDD-2TB", sizeGB: 2000},
	}
}

// profile is a PXE profile (an OS or a pre-install step).
type profile struct {
	id        int
	name      string
	billingID string
}

func seedProfiles() []profile {
	return []profile{
		{id: 1, name: "Quick Format", billingID: "format-quick"},
		{id: 2, name: "Ubuntu 24.04", billingID: "os-ubuntu-2404"},
		{id: 3, name: "Debian 12", billingID: "os-debian-12"},
		{id: 4, name: "AlmaLinux 9", billingID: "os-almalinux-9"},
	}
}

// seedIPBlocks maps IP block billing ids to their prefix length.
func seedIPBlocks() map[string]int { return map[string]int{"IP-29": 29, "IP-30": 30} }

// seedPortSpeeds are the switch port speed billing ids.
func seedPortSpeeds() map[string]bool {
	return map[string]bool{"speed-1000": true, "speed-10000": true}
}

// seedServers fills the inventory: five servers of two hardware configurations.
func (s *Sim) seedServers() {
	byBilling := map[string]part{}
	for _, p := range s.parts {
		byBilling[p.billingID] = p
	}
	configs := []struct {
		ids   []int
		cpu   string
		mem   string
		disks []string
	}{
		{[]int{101, 102, 103}, "CPU-E3-1230", "RAM-32GB", []string{"SSD-480GB"}},
		{[]int{104, 105}, "CPU-2xE5-2620", "RAM-64GB", []string{"HDD-2TB", "HDD-2TB"}},
	}
	for _, cfg := range configs {
		for _, id := range cfg.ids {
			srv := &server{id: id, cpu: byBilling[cfg.cpu], mem: byBilling[cfg.mem], group: "LOC-DAL",
				controlID: 900 + id, power: "off"}
			for _, d := range cfg.disks {
				srv.disks = append(srv.disks, byBilling[d])
			}
			s.servers = append(s.servers, srv)
		}
	}
}
