"""The consolidated workbook's own names, declared once: outputs.workbook writes them, and the
reader knows a city's forwarded workbook by them (stages.read.city)."""

ABOUT_SHEET = "汇总信息"  # what the workbook is, a key a row (层级, 单位代码…)
COUNTY_SHEET = "县（市、区）"  # a county a row, its figures a SUM of its 明细 rows
ROSTER_SHEET = "报送情况"
FINDINGS_SHEET = "问题清单"
DETAIL_PREFIX = "乡镇明细"  # 乡镇明细-走访情况: every township row of a table
PROVINCE_LEVEL, CITY_LEVEL = "省", "市州"  # a run's level as 汇总信息 says it (about["level"])
# A county block its city's workbook lists as 已退回, as its source's `problem` says it: read
# there and rejected, never "unreadable" when a later file of the county's sets it aside.
REJECTED_THERE = "已被市州退回"
