/*
 * gen_cache: fill an imgwd cache database with generated messages quickly,
 * for the history and search benchmarks. It opens the database with imgwd's
 * own store_open (storedb.c: the schema, its migrations, its triggers and
 * imgw_grams are exactly imgwd's) and inserts the rows in transactions of
 * 100,000 on that connection, so the full-text indexes and conversations are built
 * by the same triggers imgwd fires. A benchmark tool: it exits on any error.
 *
 *   gen_cache DB MESSAGES CONVERSATIONS
 *
 * Conversations are one-to-one with users p0000, p0001, ...; our own id is
 * "me". Text is 3 to 10 words drawn from 200 common two-character Chinese
 * words (so each appears in about 3% of messages), plus the word 熊猫 in
 * about one message in a thousand.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "store.h"
#include "storedb.h"

static const char *const words[] = {
	"北京", "上海", "明天", "今天", "晚上", "中午", "早上", "周末", "时间", "地方",
	"朋友", "同事", "老师", "学生", "公司", "会议", "项目", "文件", "邮件", "电话",
	"吃饭", "喝茶", "咖啡", "米饭", "面条", "水果", "蔬菜", "超市", "商场", "银行",
	"医院", "学校", "机场", "车站", "地铁", "公交", "出租", "开车", "走路", "跑步",
	"天气", "下雨", "晴天", "很冷", "很热", "刮风", "下雪", "温度", "空调", "衣服",
	"电脑", "手机", "网络", "软件", "系统", "数据", "代码", "测试", "发布", "版本",
	"问题", "答案", "方法", "结果", "原因", "计划", "安排", "准备", "开始", "结束",
	"已经", "还是", "但是", "因为", "所以", "如果", "虽然", "然后", "现在", "以后",
	"喜欢", "希望", "觉得", "知道", "认为", "需要", "应该", "可以", "不能", "一定",
	"谢谢", "你好", "再见", "抱歉", "没事", "好的", "收到", "明白", "同意", "确认",
	"电影", "音乐", "游戏", "比赛", "足球", "篮球", "旅游", "照片", "视频", "新闻",
	"家里", "房子", "租金", "搬家", "装修", "厨房", "客厅", "卧室", "阳台", "花园",
	"妈妈", "爸爸", "孩子", "哥哥", "姐姐", "弟弟", "妹妹", "爷爷", "奶奶", "亲戚",
	"生日", "礼物", "蛋糕", "聚会", "婚礼", "节日", "春节", "假期", "休息", "加班",
	"工资", "价格", "便宜", "很贵", "打折", "付款", "发票", "合同", "客户", "市场",
	"经理", "老板", "团队", "部门", "面试", "招聘", "培训", "报告", "总结", "目标",
	"健康", "医生", "感冒", "发烧", "吃药", "运动", "减肥", "睡觉", "起床", "洗澡",
	"城市", "农村", "国家", "世界", "历史", "文化", "语言", "中文", "英文", "翻译",
	"快递", "包裹", "地址", "号码", "密码", "账号", "登录", "注册", "下载", "上传",
	"一起", "马上", "慢慢", "赶紧", "小心", "注意", "记得", "忘了", "找到", "看看",
};
#define NWORDS	((int)(sizeof words / sizeof words[0]))

static uint64_t	 rng = 88172645463325252ULL;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

int
main(int argc, char **argv)
{
	struct store	*s;
	sqlite3_stmt	*ins;
	sqlite3		*db;
	char		 id[40], conv[16], peer[8], text[512];
	long		 n, nconv, i;
	int64_t		 t0 = 1700000000000;
	int		 k, w, len;

	if (argc != 4 || (n = atol(argv[2])) < 1 || (nconv = atol(argv[3])) < 1 ||
	    nconv > 10000) {
		fprintf(stderr, "usage: gen_cache DB MESSAGES CONVERSATIONS\n");
		return 2;
	}
	db = storedb_open(argv[1], &s);
	if (sqlite3_exec(db, "PRAGMA cache_size = -262144;"
	    "BEGIN; INSERT OR REPLACE INTO kv(key, value) VALUES ('self', 'me')",
	    NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO messages(id, conv, from_id, "
	    "to_id, msg_type, content, status, created_at, seq, edited_at, extra) "
	    "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)", -1, &ins, NULL) !=
	    SQLITE_OK) {
		fprintf(stderr, "gen_cache: %s\n", sqlite3_errmsg(db));
		return 1;
	}
	for (i = 0; i < n; i++) {
		snprintf(peer, sizeof peer, "p%04ld", (long)(rnd() % nconv));
		snprintf(conv, sizeof conv, "u:%s", peer);
		snprintf(id, sizeof id, "%08x%08x%08lx", rnd(), rnd(), i);
		len = 0;
		w = 3 + rnd() % 8;
		for (k = 0; k < w; k++)
			len += snprintf(text + len, sizeof text - len, "%s%s",
			    k ? (rnd() % 4 ? "" : "，") : "", words[rnd() % NWORDS]);
		if (rnd() % 1000 == 0)
			len += snprintf(text + len, sizeof text - len, "熊猫");
		snprintf(text + len, sizeof text - len, "%s",
		    rnd() % 3 ? "。" : "！");
		sqlite3_bind_text(ins, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, conv, -1, SQLITE_STATIC);
		if (rnd() % 2) {
			sqlite3_bind_text(ins, 3, peer, -1, SQLITE_STATIC);
			sqlite3_bind_text(ins, 4, "me", -1, SQLITE_STATIC);
		} else {
			sqlite3_bind_text(ins, 3, "me", -1, SQLITE_STATIC);
			sqlite3_bind_text(ins, 4, peer, -1, SQLITE_STATIC);
		}
		sqlite3_bind_text(ins, 5, "TEXT", -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 6, text, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 7, "SENT", -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 8, t0 + i * 997);
		sqlite3_bind_int64(ins, 9, i + 1);
		sqlite3_bind_int64(ins, 10, 0);
		sqlite3_bind_text(ins, 11, "", -1, SQLITE_STATIC);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			fprintf(stderr, "gen_cache: %s\n", sqlite3_errmsg(db));
			return 1;
		}
		sqlite3_reset(ins);
		/* Commits of 100,000 rows keep the WAL of a 5M cache in bounds. */
		if (i % 100000 == 99999 && sqlite3_exec(db, "COMMIT; BEGIN",
		    NULL, NULL, NULL) != SQLITE_OK) {
			fprintf(stderr, "gen_cache: %s\n", sqlite3_errmsg(db));
			return 1;
		}
	}
	sqlite3_finalize(ins);
	if (sqlite3_exec(db, "INSERT OR REPLACE INTO kv(key, value) VALUES "
	    "('sync_seq', '1000000000'); COMMIT; PRAGMA wal_checkpoint(TRUNCATE)",
	    NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "gen_cache: %s\n", sqlite3_errmsg(db));
		return 1;
	}
	store_close(s);
	return 0;
}
